/**
 * `custody audit verify` against a deployed stack: CloudFormation, KMS GetPublicKey and CloudWatch
 * Logs mocked (exact inputs asserted); the audit table a real DynamoDB-compatible server holding
 * records and digests signed with a P-256 key whose public key the mocked GetPublicKey returns, so
 * the real verifier runs. The local path runs end to end in test/e2e/local-api.test.ts.
 *
 * Over 400 lines on purpose: every case shares one dynalite table, signer and set of mocks, set up
 * once; split, each file would start its own server for the same fixtures.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CloudWatchLogsClient,
  CreateLogStreamCommand,
  FilterLogEventsCommand,
  PutLogEventsCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import { GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import {
  GetPublicKeyCommand,
  type GetPublicKeyCommandOutput,
  KMSClient,
  SignCommand,
  VerifyCommand,
} from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { main } from '../../../../client/cli/main.ts';
import { recordKey } from '../../../../lambda/adapters/aws/audit-item.ts';
import { createAuditTable } from '../../../../lambda/adapters/aws/audit-table.ts';
import { DynamoDbAuditStore } from '../../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import { verifyAudit } from '../../../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { createDigest } from '../../../../lambda/adapters/aws/dynamodb-digests.ts';
import { FileAuditSigner } from '../../../../lambda/adapters/local/file-audit-signer.ts';
import { digestLine, verificationLine } from '../../../../lambda/audit/audit-log-line.ts';
import type { SignedDigest } from '../../../../lambda/audit/item.ts';
import type { AuditEvent } from '../../../../lambda/core/audit-record.ts';
import { canonicalJson, sha256Hex } from '../../../../lambda/core/canonical-json.ts';
import { auditRecord, ManualClock } from '../../../audit/records.ts';
import { captureIo, runCli } from '../../../support/cli.ts';
import { type RunningDynalite, startDynalite } from '../../../support/dynalite.ts';

const env = {
  AWS_ACCESS_KEY_ID: 'AKIAAUDITOR000000001',
  AWS_SECRET_ACCESS_KEY: 'auditor-secret',
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
};
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const LOG_GROUP = '/custody/Custody/audit';
const FILTER = '{ $.auditDigest.sequence > 0 }';
const MINUTE = 60_000;

/** What GetPublicKey returns for an ECC_NIST_P256 SIGN_VERIFY key: the DER SubjectPublicKeyInfo. */
async function kmsPublicKey(signer: FileAuditSigner): Promise<Partial<GetPublicKeyCommandOutput>> {
  const der = (await signer.publicKey()).export({ format: 'der', type: 'spki' });
  return {
    KeyId: KEY_ARN,
    KeySpec: 'ECC_NIST_P256',
    KeyUsage: 'SIGN_VERIFY',
    SigningAlgorithms: ['ECDSA_SHA_256'],
    PublicKey: new Uint8Array(der),
  };
}

/**
 * A trail written as on AWS, ending just before now: digest 1 over exec-1 started+completed and
 * exec-2 denied, digest 2 over exec-3 started+completed; exec-4 denied not yet digested.
 */
interface Trail {
  readonly tableName: string;
  readonly signer: FileAuditSigner;
  readonly digests: SignedDigest[];
  /** The verifier's "now". */
  readonly now: Date;
}

describe('custody audit verify on AWS', () => {
  const cfn = mockClient(CloudFormationClient);
  const kms = mockClient(KMSClient);
  const logs = mockClient(CloudWatchLogsClient);
  let db: RunningDynalite;
  let tables = 0;

  /** A local stack's `.custody` in `home` whose table is a new one on the test's dynalite; no server runs. */
  async function localStackIn(
    home: string,
    prefix: string,
  ): Promise<{ tableName: string; auditLog: string }> {
    const tableName = `${prefix}-${++tables}`;
    await createAuditTable(db.client, tableName);
    const auditLog = join(home, 'audit.log');
    await writeFile(
      join(home, 'local.json'),
      JSON.stringify({
        apiEndpoint: 'http://127.0.0.1:9',
        region: 'us-east-1',
        credentialsFile: join(home, 'credentials'),
        dynamodbEndpoint: db.endpoint,
        auditTableName: tableName,
        auditLog,
      }),
    );
    return { tableName, auditLog };
  }

  beforeAll(async () => {
    db = await startDynalite({ createTable: false });
    // The SDK's default chain reads the process environment: the auditor's own credentials.
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  });
  afterAll(async () => {
    vi.unstubAllEnvs();
    cfn.restore();
    kms.restore();
    logs.restore();
    await db.stop();
  });
  afterEach(() => {
    cfn.reset();
    kms.reset();
    logs.reset();
  });

  /** Builds the trail ending a few minutes before the real now (main() verifies at the real now). */
  async function buildTrail(): Promise<Trail> {
    const tableName = `audit-verify-${++tables}`;
    await createAuditTable(db.client, tableName);
    const start = new Date(Math.floor((Date.now() - 30 * MINUTE) / MINUTE) * MINUTE);
    const clock = new ManualClock(start);
    const signer = FileAuditSigner.generate();
    const store = new DynamoDbAuditStore({ client: db.client, tableName, clock: clock.now });
    const digests: SignedDigest[] = [];
    const write = async (id: string, event: AuditEvent) => {
      clock.advance(1000);
      await store.put(auditRecord(id, event, clock.now()));
    };
    const digest = async () => {
      clock.advance(6 * MINUTE);
      const result = await createDigest({
        client: db.client,
        tableName,
        signer,
        clock: clock.now,
        genesis: start,
        log: { writeDigest: async (d) => void digests.push(d) },
      });
      if (result.status !== 'written') throw new Error(`digest not written: ${result.status}`);
    };
    await write('exec-1', 'started');
    await write('exec-1', 'completed');
    await write('exec-2', 'denied');
    await digest();
    await write('exec-3', 'started');
    await write('exec-3', 'completed');
    await digest();
    await write('exec-4', 'denied');
    return { tableName, signer, digests, now: clock.advance(MINUTE) };
  }

  /** The stack, its public key and its log group (digest lines on two pages) as AWS returns them. */
  async function mockAws(trail: Trail, outputs?: { OutputKey: string; OutputValue: string }[]) {
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Custody',
          CreationTime: new Date(),
          StackStatus: 'UPDATE_COMPLETE',
          Outputs: outputs ?? [
            { OutputKey: 'AuditTableName', OutputValue: trail.tableName },
            { OutputKey: 'AuditSigningKeyArn', OutputValue: KEY_ARN },
            { OutputKey: 'AuditLogGroupName', OutputValue: LOG_GROUP },
            { OutputKey: 'ApiUrl', OutputValue: 'https://x.execute-api.eu-west-1.amazonaws.com/prod/' },
          ],
        },
      ],
    });
    kms.on(GetPublicKeyCommand).resolves(await kmsPublicKey(trail.signer));
    const line = (d: SignedDigest | undefined) => ({
      logStreamName: '2030/01/01/digester',
      timestamp: Date.now(),
      message: digestLine(d as SignedDigest),
    });
    logs
      .on(FilterLogEventsCommand, { nextToken: undefined })
      .resolves({ events: [line(trail.digests[0])], nextToken: 'page-2' })
      .on(FilterLogEventsCommand, { nextToken: 'page-2' })
      .resolves({ events: [line(trail.digests[1])] });
  }

  const io = () => captureIo({ env, cwd: '/nonexistent' });
  const custody = (args: string[]) =>
    runCli(['audit', 'verify', ...args, '--endpoint', db.endpoint], { env, cwd: '/nonexistent' });

  async function tamper(tableName: string, executionId: string, event: AuditEvent) {
    const item = (
      await db.client.send(new GetItemCommand({ TableName: tableName, Key: recordKey(executionId, event) }))
    ).Item;
    const json = item?.record?.S;
    if (item === undefined || json === undefined) throw new Error(`no record ${executionId}/${event}`);
    const forged = json.replace('"succeeded"', '"failed"');
    expect(forged).not.toBe(json);
    await db.client.send(
      new PutItemCommand({ TableName: tableName, Item: { ...item, record: { S: forged } } }),
    );
  }

  describe('with --stack', () => {
    let trail: Trail;
    beforeEach(async () => {
      trail = await buildTrail();
      await mockAws(trail);
    });

    it('exits 0 for an intact trail, reading the outputs, the public key and every page of digest lines', async () => {
      const out = await custody(['--stack', 'Custody']);

      expect(out.stderr).toContain(
        `custody: verifying audit table ${trail.tableName} (eu-west-1) with the public key of ${KEY_ARN} (KMS GetPublicKey, signatures checked here); 2 digest anchors from log group ${LOG_GROUP}`,
      );
      expect(out.code).toBe(EXIT.succeeded);
      expect(out.stdout).toContain('audit verification: INTACT');
      expect(out.stdout).toContain('checked:          5 records in 2 digests (whole table)');
      expect(out.stdout).toContain('not yet covered:  1 records');
      expect(cfn).toHaveReceivedCommandExactlyOnceWith(DescribeStacksCommand, { StackName: 'Custody' });
      expect(kms).toHaveReceivedCommandTimes(GetPublicKeyCommand, 1);
      expect(kms.commandCalls(GetPublicKeyCommand)[0]?.args[0].input).toEqual({ KeyId: KEY_ARN });
      // The signatures are checked locally with the public key; KMS is never asked to verify or sign.
      expect(kms).not.toHaveReceivedCommand(VerifyCommand);
      expect(kms).not.toHaveReceivedCommand(SignCommand);
      expect(logs).toHaveReceivedCommandTimes(FilterLogEventsCommand, 2);
      expect(logs.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input)).toEqual([
        { logGroupName: LOG_GROUP, filterPattern: FILTER },
        { logGroupName: LOG_GROUP, filterPattern: FILTER, nextToken: 'page-2' },
      ]);
      expect(logs).not.toHaveReceivedCommand(PutLogEventsCommand);
    });

    it('exits 11 naming a modified record', async () => {
      await tamper(trail.tableName, 'exec-3', 'completed');

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.tampered);
      expect(out.stdout).toContain('audit verification: FAILED (modified)');
      expect(out.stdout).toContain('first bad record: execution exec-3, event completed');
      expect(out.stdout).toContain(
        'problem:          modified: record exec-3/completed does not hash to the sha256 digest 2 recorded',
      );
    });

    /** A started record written after the last digest, at the trail's "now" (16 min before the real now). */
    async function startedOnly(executionId: string, timeoutMs: number) {
      const store = new DynamoDbAuditStore({
        client: db.client,
        tableName: trail.tableName,
        clock: () => trail.now,
      });
      const record = auditRecord(executionId, 'started', trail.now);
      await store.put({ ...record, request: { ...record.request, timeoutMs } });
    }

    it('exits 10 (INCOMPLETE, not tampering) for a started execution with no outcome after its deadline', async () => {
      await startedOnly('exec-lost', 10_000);

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.incomplete);
      expect(out.stdout).toContain('audit verification: INCOMPLETE (1 execution started with no outcome');
      expect(out.stdout).toContain(
        `missing outcome:  execution exec-lost, started ${trail.now.toISOString()}, no completed or denied record by ${new Date(trail.now.getTime() + 10_000 + 300_000).toISOString()}`,
      );
      const recent = await custody(['--stack', 'Custody', '--recent', '1', '--json']);
      expect(recent.code).toBe(EXIT.incomplete);
      expect(JSON.parse(recent.stdout)).toMatchObject({
        ok: true,
        scope: 'recent',
        incomplete: [{ executionId: 'exec-lost', startedAt: trail.now.toISOString() }],
      });
    });

    it('exits 0 while a started execution is still within its deadline', async () => {
      await startedOnly('exec-running', 900_000);

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.succeeded);
      expect(out.stdout).toContain('audit verification: INTACT');
    });

    it('reports tampering before an incomplete execution (exit 11)', async () => {
      await startedOnly('exec-lost', 10_000);
      await tamper(trail.tableName, 'exec-3', 'completed');

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.tampered);
      expect(out.stdout).toContain('audit verification: FAILED (modified)');
      expect(out.stdout).toContain('missing outcome:  execution exec-lost');
    });

    it('prints the result as JSON with --json', async () => {
      await tamper(trail.tableName, 'exec-1', 'completed');

      const out = await custody(['--stack', 'Custody', '--json']);

      expect(out.code).toBe(EXIT.tampered);
      expect(JSON.parse(out.stdout)).toMatchObject({
        ok: false,
        scope: 'all',
        problem: { kind: 'modified', executionId: 'exec-1', event: 'completed', digestSequence: 1 },
      });
    });

    it('exits 11 when the digests do not verify with the key KMS returns (signed with another key)', async () => {
      const other = FileAuditSigner.generate();
      kms.on(GetPublicKeyCommand).resolves(await kmsPublicKey(other));

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.tampered);
      expect(out.stdout).toContain('audit verification: FAILED (signature invalid)');
      expect(out.stdout).toContain("digest 1's signature does not verify with the audit public key");
    });

    it('exits 11 when the audit log anchors a digest the table no longer has', async () => {
      // A third digest that was in the audit log, deleted from the table with its records.
      const second = trail.digests[1] as SignedDigest;
      const body = { ...second.body, sequence: 3, previousDigestSha256: second.digestSha256 };
      const third: SignedDigest = { ...second, body, digestSha256: sha256Hex(canonicalJson(body)) };
      logs
        .on(FilterLogEventsCommand, { nextToken: 'page-2' })
        .resolves({ events: [{ message: digestLine(second) }, { message: digestLine(third) }] });

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.tampered);
      expect(out.stdout).toContain('audit verification: FAILED (chain broken)');
      expect(out.stdout).toContain('digest 3 is in the audit log but not in the table');
    });

    it('checks only the last digests with --recent', async () => {
      const out = await custody(['--stack', 'Custody', '--recent', '1']);

      expect(out.code).toBe(EXIT.succeeded);
      expect(out.stdout).toContain('checked:          2 records in 1 digests (recent digests)');
    });

    it('refuses a key that is not ECC_NIST_P256, naming it', async () => {
      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({
        format: 'der',
        type: 'spki',
      });
      kms.on(GetPublicKeyCommand).resolves({
        KeyId: KEY_ARN,
        KeySpec: 'RSA_2048',
        SigningAlgorithms: ['RSASSA_PSS_SHA_256'],
        PublicKey: new Uint8Array(rsa),
      });

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.unavailable);
      expect(out.stderr).toContain(
        `KMS key ${KEY_ARN} is RSA_2048; audit digests need ECC_NIST_P256 with ECDSA_SHA_256`,
      );
      expect(out.stdout).toBe('');
    });

    it('says so when GetPublicKey is refused', async () => {
      kms.on(GetPublicKeyCommand).rejects(
        Object.assign(new Error('not authorized to perform kms:GetPublicKey'), {
          name: 'AccessDeniedException',
        }),
      );

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.unavailable);
      expect(out.stderr).toContain(
        `KMS could not return the public key of ${KEY_ARN}: AccessDeniedException: not authorized to perform kms:GetPublicKey`,
      );
    });

    it('records the result as an auditVerification line in the audit log group with --record', async () => {
      logs.on(CreateLogStreamCommand).resolves({});
      logs.on(PutLogEventsCommand).resolves({});
      const { io: streams, out } = io();

      const code = await main(
        ['audit', 'verify', '--stack', 'Custody', '--record', '--endpoint', db.endpoint],
        streams,
        {
          clock: () => trail.now,
        },
      );

      expect(code).toBe(EXIT.succeeded);
      expect(out.stdout).toContain('INTACT');
      const expected = await verifyAudit({
        client: db.client,
        tableName: trail.tableName,
        publicKey: await trail.signer.publicKey(),
        clock: () => trail.now,
        anchors: trail.digests.map((d) => ({ sequence: d.body.sequence, digestSha256: d.digestSha256 })),
      });
      expect(logs).toHaveReceivedCommandExactlyOnceWith(CreateLogStreamCommand, {
        logGroupName: LOG_GROUP,
        logStreamName: expect.stringMatching(/^custody-audit-verify\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/),
      });
      expect(logs).toHaveReceivedCommandExactlyOnceWith(PutLogEventsCommand, {
        logGroupName: LOG_GROUP,
        logStreamName: expect.stringMatching(/^custody-audit-verify\//),
        logEvents: [{ timestamp: expect.any(Number), message: verificationLine(expected, trail.now) }],
      });
    });

    it('exits 8 after an intact result it could not record', async () => {
      logs.on(CreateLogStreamCommand).resolves({});
      logs
        .on(PutLogEventsCommand)
        .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));

      const out = await custody(['--stack', 'Custody', '--record']);

      expect(out.stdout).toContain('INTACT');
      expect(out.stderr).toContain('custody: the result was not recorded in the audit log');
      expect(out.code).toBe(EXIT.unavailable);
    });
  });

  describe('with --table and --key-id', () => {
    it('verifies without reading the stack, taking the anchors from --log-group', async () => {
      const trail = await buildTrail();
      await mockAws(trail);

      const out = await custody([
        '--table',
        trail.tableName,
        '--key-id',
        'alias/custody-audit',
        '--log-group',
        LOG_GROUP,
        '--region',
        'eu-west-1',
      ]);

      expect(out.code).toBe(EXIT.succeeded);
      expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
      expect(kms).toHaveReceivedCommandExactlyOnceWith(GetPublicKeyCommand, { KeyId: 'alias/custody-audit' });
      expect(logs).toHaveReceivedCommandTimes(FilterLogEventsCommand, 2);
    });

    it('still finds a modified record without --log-group, and warns that the anchors were not read', async () => {
      const trail = await buildTrail();
      await mockAws(trail);
      await tamper(trail.tableName, 'exec-1', 'completed');

      const out = await custody(['--table', trail.tableName, '--key-id', KEY_ARN]);

      expect(out.code).toBe(EXIT.tampered);
      expect(out.stdout).toContain('first bad record: execution exec-1, event completed');
      expect(out.stderr).toContain('custody: warning: no --log-group');
      expect(logs).not.toHaveReceivedCommand(FilterLogEventsCommand);
    });
  });

  describe('refuses', () => {
    it('a stack without the signing key output, naming it', async () => {
      const trail = await buildTrail();
      await mockAws(trail, [{ OutputKey: 'AuditTableName', OutputValue: trail.tableName }]);

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).toBe(EXIT.config);
      expect(out.stderr).toContain('stack Custody has no AuditSigningKeyArn output');
      expect(kms).not.toHaveReceivedCommand(GetPublicKeyCommand);
    });

    it('a stack that is not a custody stack', async () => {
      const trail = await buildTrail();
      await mockAws(trail, [{ OutputKey: 'Other', OutputValue: 'x' }]);

      const out = await custody(['--stack', 'Custody']);

      expect(out.code).not.toBe(EXIT.succeeded);
      expect(out.stderr).toContain('stack Custody has no AuditTableName output: is it a custody stack?');
    });

    it.each([
      [['--table', 't'], '--key-id is required with --table'],
      [['--stack', 's', '--table', 't'], 'give either --stack NAME or --table NAME, not both'],
      [['--key-id', 'k'], '--key-id and --log-group apply on AWS'],
      [['--stack', 's', '--no-digest'], '--no-digest applies to the local stack'],
      [['--table', 't', '--key-id', 'k', '--record'], '--record writes the result to the audit log group'],
      [['--stack', 's', '--recent', '0'], '--recent: "0" must be a positive integer'],
      [['--stack', 's', '--bucket', 'b'], "Unknown option '--bucket'"],
    ])('%j with a usage error naming the flag', async (args, message) => {
      const out = await custody(args);

      expect(out.code).toBe(EXIT.usage);
      expect(out.stderr).toContain(message);
    });

    it('AWS without a region', async () => {
      const { io: streams, out } = io();
      const noRegion = { ...streams, env: { AWS_EC2_METADATA_DISABLED: 'true' } };

      const code = await main(['audit', 'verify', '--stack', 'Custody'], noRegion);

      expect(code).toBe(EXIT.usage);
      expect(out.stderr).toContain('--region is required on AWS (or set AWS_REGION)');
    });
  });

  describe('on the local stack', () => {
    /** A local home on the shared dynalite, its table holding a started record whose outcome is only in the log. */
    async function pendingHome() {
      const home = await mkdtemp(join(tmpdir(), 'custody-reconcile-'));
      const { tableName, auditLog } = await localStackIn(home, 'local-reconcile');
      await FileAuditSigner.open(join(home, 'audit-signing-key.pem'));
      const startedAt = new Date(Date.now() - 20 * MINUTE);
      const started = auditRecord('exec-pending', 'started', startedAt);
      const completed = auditRecord('exec-pending', 'completed', new Date(startedAt.getTime() + 1000));
      await new DynamoDbAuditStore({ client: db.client, tableName }).put(started);
      await writeFile(auditLog, `${canonicalJson(started)}\n${canonicalJson(completed)}\n`);
      const run = async (args: string[]) => {
        const { io: streams, out } = io();
        const code = await main(args, { ...streams, env: { CUSTODY_HOME: home }, cwd: home });
        return { code, ...out };
      };
      return { home, tableName, completed, run };
    }

    it('audit reconcile writes the outcome that is only in the audit log to the table, once', async () => {
      const { home, tableName, completed, run } = await pendingHome();
      try {
        const before = await run(['audit', 'verify', '--no-digest']);
        expect(before.code).toBe(EXIT.incomplete);
        expect(before.stdout).toContain('missing outcome:  execution exec-pending');

        const out = await run(['audit', 'reconcile']);
        expect(out.code).toBe(EXIT.succeeded);
        expect(out.stderr).toContain(
          `custody: reconciling audit table ${tableName} with ${join(home, 'audit.log')}`,
        );
        expect(out.stdout).toContain(
          'audit reconcile: 1 written, 1 already in the table, 0 conflicts, 0 failed',
        );
        const item = await db.client.send(
          new GetItemCommand({ TableName: tableName, Key: recordKey('exec-pending', 'completed') }),
        );
        expect(item.Item?.record?.S).toBe(canonicalJson(completed));

        const again = await run(['audit', 'reconcile', '--json']);
        expect(again.code).toBe(EXIT.succeeded);
        expect(JSON.parse(again.stdout)).toMatchObject({ written: [], alreadyStored: 2 });
        const after = await run(['audit', 'verify', '--no-digest']);
        expect(after.code).toBe(EXIT.succeeded);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });

    it('audit verify reconciles pending records before it digests and verifies', async () => {
      const { home, run } = await pendingHome();
      try {
        const out = await run(['audit', 'verify']);
        expect(out.stderr).toContain('custody: audit reconcile: 1 written');
        expect(out.stdout).toContain('audit verification: INTACT');
        expect(out.code).toBe(EXIT.succeeded);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });

    it('digests what is due, verifies, and appends the result to the audit log with --record', async () => {
      const home = await mkdtemp(join(tmpdir(), 'custody-verify-'));
      try {
        const { tableName, auditLog } = await localStackIn(home, 'local-verify');
        await FileAuditSigner.open(join(home, 'audit-signing-key.pem'));
        const store = new DynamoDbAuditStore({ client: db.client, tableName });
        await store.put(auditRecord('exec-l-1', 'denied', new Date()));
        const { io: streams, out } = io();

        const code = await main(['audit', 'verify', '--record'], {
          ...streams,
          env: { CUSTODY_HOME: home },
          cwd: home,
        });

        expect(out.stderr).toContain(`custody: verifying the local audit table ${tableName}`);
        expect(code).toBe(EXIT.succeeded);
        expect(out.stdout).toContain('audit verification: INTACT');
        const lines = (await readFile(auditLog, 'utf8')).trim().split('\n');
        expect(JSON.parse(lines[0] ?? '')).toMatchObject({ auditDigest: { sequence: 1 } });
        expect(JSON.parse(lines.at(-1) ?? '')).toMatchObject({
          auditVerification: { ok: true, scope: 'all', digests: 1, uncovered: 1 },
        });
        expect(kms).not.toHaveReceivedCommand(GetPublicKeyCommand);
        expect(cfn).not.toHaveReceivedCommand(DescribeStacksCommand);
      } finally {
        await rm(home, { recursive: true, force: true });
      }
    });
  });
});
