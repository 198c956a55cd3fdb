/**
 * `custody audit tail` against a real audit table (dynalite), found through `.custody/local.json`
 * in a parent of the working directory. `--follow` is driven through the wait between polls: the
 * test writes records while the CLI waits, so no sleep orders anything.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { DynamoDbAuditStore } from '../../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import type { AuditRecord } from '../../../../lambda/core/audit-record.ts';
import { auditRecord, ManualClock } from '../../../audit/records.ts';
import { runCli } from '../../../support/cli.ts';
import { type RunningDynalite, startDynalite } from '../../../support/dynalite.ts';

let db: RunningDynalite;
let project: string;
let subdirectory: string;
let store: DynamoDbAuditStore;
// Written a few minutes ago, one second apart, so the table's write order is unambiguous.
const clock = new ManualClock(new Date(Date.now() - 5 * 60_000));

beforeAll(async () => {
  db = await startDynalite();
  project = mkdtempSync(join(tmpdir(), 'custody-cli-tail-'));
  mkdirSync(join(project, '.custody'));
  subdirectory = join(project, 'src', 'jobs');
  mkdirSync(subdirectory, { recursive: true });
  writeFileSync(
    join(project, '.custody', 'local.json'),
    JSON.stringify({
      apiEndpoint: 'http://127.0.0.1:9',
      dynamodbEndpoint: db.endpoint,
      auditTableName: db.tableName,
      region: 'us-east-1',
      credentialsFile: join(project, '.custody', 'credentials'),
      auditLog: join(project, '.custody', 'audit.log'),
    }),
  );
  store = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName, clock: clock.now });
  for (const id of ['EXEC-A', 'EXEC-B', 'EXEC-C', 'EXEC-D', 'EXEC-E']) await write(id);
});
afterAll(async () => {
  await db?.stop();
  rmSync(project, { recursive: true, force: true });
});

async function write(executionId: string): Promise<void> {
  await store.put(auditRecord(executionId, 'denied', clock.advance(1000)));
}

const ids = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as AuditRecord).executionId);

describe('custody audit tail', () => {
  it('finds the local stack from a subdirectory and prints the last N records, oldest first', async () => {
    const out = await runCli(['audit', 'tail', '-n', '2', '--json'], { env: {}, cwd: subdirectory });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(EXIT.succeeded);
    expect(ids(out.stdout)).toEqual(['EXEC-D', 'EXEC-E']);
  });

  it('--follow prints the last N, then only the records written since, each once and in order', async () => {
    const polls: number[] = [];
    // Each wait is where the operator's terminal sits idle: new records arrive in between.
    const during: (() => Promise<void>)[] = [
      async () => {
        await write('EXEC-F');
        await write('EXEC-G');
      },
      async () => {},
      async () => write('EXEC-H'),
    ];
    const pause = async (ms: number) => {
      polls.push(ms);
      const next = during.shift();
      if (next === undefined) return false;
      await next();
      return true;
    };

    const out = await runCli(
      ['audit', 'tail', '-n', '2', '--follow', '--interval-ms', '500', '--json'],
      { env: {}, cwd: subdirectory },
      { pause },
    );

    expect(out.stderr).toBe('');
    expect(out.code).toBe(EXIT.succeeded);
    expect(ids(out.stdout)).toEqual(['EXEC-D', 'EXEC-E', 'EXEC-F', 'EXEC-G', 'EXEC-H']);
    expect(polls).toEqual([500, 500, 500, 500]);
  });

  it('--follow after an empty start prints every record written since', async () => {
    const empty = await startDynalite();
    const home = mkdtempSync(join(tmpdir(), 'custody-cli-tail-empty-'));
    try {
      writeFileSync(
        join(home, 'local.json'),
        JSON.stringify({
          apiEndpoint: 'http://127.0.0.1:9',
          dynamodbEndpoint: empty.endpoint,
          auditTableName: empty.tableName,
          region: 'us-east-1',
        }),
      );
      const later = new DynamoDbAuditStore({ client: empty.client, tableName: empty.tableName });
      let polled = false;
      const pause = async () => {
        if (polled) return false;
        polled = true;
        await later.put(auditRecord('EXEC-NEW', 'denied', new Date()));
        return true;
      };
      const out = await runCli(
        ['audit', 'tail', '-f', '--json'],
        { env: { CUSTODY_HOME: home }, cwd: '/' },
        { pause },
      );
      expect(out.code, out.stderr).toBe(EXIT.succeeded);
      expect(ids(out.stdout)).toEqual(['EXEC-NEW']);
    } finally {
      await empty.stop();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
