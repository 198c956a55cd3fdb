/**
 * `custody audit reconcile` against a deployed stack: CloudFormation and CloudWatch Logs mocked
 * (exact inputs asserted), the audit table a real DynamoDB-compatible server. The local path runs
 * in test/client/cli/commands/audit-verify.test.ts ("on the local stack").
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { recordKey } from '../../../../lambda/adapters/aws/audit-item.ts';
import { createAuditTable } from '../../../../lambda/adapters/aws/audit-table.ts';
import { RECORD_LINE_FILTER_PATTERN } from '../../../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { canonicalJson } from '../../../../lambda/core/canonical-json.ts';
import { auditRecord } from '../../../audit/records.ts';
import { runCli } from '../../../support/cli.ts';
import { type RunningDynalite, startDynalite } from '../../../support/dynalite.ts';

const env = {
  AWS_ACCESS_KEY_ID: 'AKIAOPERATOR00000001',
  AWS_SECRET_ACCESS_KEY: 'operator-secret',
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const LOG_GROUP = '/custody/Custody/audit';

describe('custody audit reconcile on AWS', () => {
  const cfn = mockClient(CloudFormationClient);
  const logs = mockClient(CloudWatchLogsClient);
  let db: RunningDynalite;
  let tables = 0;

  beforeAll(async () => {
    db = await startDynalite({ createTable: false });
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    cfn.restore();
    logs.restore();
    await db.stop();
  });
  afterEach(() => {
    cfn.reset();
    logs.reset();
  });

  const custody = (args: string[]) =>
    runCli(['audit', 'reconcile', ...args, '--endpoint', db.endpoint], { env, cwd: '/nonexistent' });

  async function pending() {
    const tableName = `reconcile-${++tables}`;
    await createAuditTable(db.client, tableName);
    const startedAt = new Date(Date.now() - 30 * 60_000);
    const started = auditRecord('exec-p', 'started', startedAt);
    const completed = auditRecord('exec-p', 'completed', new Date(startedAt.getTime() + 500));
    await new DynamoDbAuditStore({ client: db.client, tableName }).put(started);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Custody',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: [
            { OutputKey: 'AuditTableName', OutputValue: tableName },
            { OutputKey: 'AuditLogGroupName', OutputValue: LOG_GROUP },
          ],
        },
      ],
    });
    logs
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [{ message: canonicalJson(started) }], nextToken: 'p2' })
      .on(FilterLogEventsCommand, { nextToken: 'p2' })
      .resolves({ events: [{ message: canonicalJson(completed) }] });
    return { tableName, completed };
  }

  it('writes the records only the log group holds to the table, reading the last --since-hours', async () => {
    const { tableName, completed } = await pending();
    const before = Date.now();

    const out = await custody(['--stack', 'Custody', '--since-hours', '2']);

    expect(out.stderr).toContain(
      `custody: reconciling audit table ${tableName} with log group ${LOG_GROUP}, the last 2 h`,
    );
    expect(out.stdout).toContain('audit reconcile: 1 written, 1 already in the table, 0 conflicts, 0 failed');
    expect(out.code).toBe(EXIT.succeeded);
    expect(cfn).toHaveReceivedCommandExactlyOnceWith(DescribeStacksCommand, { StackName: 'Custody' });
    const inputs = logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(inputs).toHaveLength(2);
    expect(inputs[0]).toMatchObject({ logGroupName: LOG_GROUP, filterPattern: RECORD_LINE_FILTER_PATTERN });
    expect(inputs[1]).toMatchObject({ nextToken: 'p2', startTime: inputs[0]?.startTime });
    const startTime = inputs[0]?.startTime ?? 0;
    expect(startTime).toBeGreaterThanOrEqual(before - 2 * 3_600_000);
    expect(startTime).toBeLessThanOrEqual(Date.now() - 2 * 3_600_000);
    const item = await db.client.send(
      new GetItemCommand({ TableName: tableName, Key: recordKey('exec-p', 'completed') }),
    );
    expect(item.Item?.record?.S).toBe(canonicalJson(completed));
  });

  it('exits 11 on a conflict and leaves the table record as it is', async () => {
    const { tableName, completed } = await pending();
    const store = new DynamoDbAuditStore({ client: db.client, tableName });
    const other = { ...completed, outcome: { status: 'failed' as const, redactions: 0, truncated: false } };
    await store.put(other);

    const out = await custody(['--table', tableName, '--log-group', LOG_GROUP]);

    expect(out.code).toBe(EXIT.tampered);
    expect(out.stdout).toContain(
      'conflict:  exec-p/completed: the table holds another record under this key',
    );
    expect((await store.get('exec-p')).find((r) => r.event === 'completed')).toEqual(other);
  });

  it.each([
    [['--table', 't'], '--log-group is required with --table'],
    [['--stack', 's', '--table', 't'], 'give either --stack NAME or --table NAME, not both'],
    [['--since-hours', '0'], '--since-hours: "0" must be a number of hours'],
  ])('%j: a usage error naming the flag', async (args, message) => {
    const out = await custody(args);

    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toContain(message);
  });
});
