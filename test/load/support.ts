/**
 * Helpers for the load and fault suites: a real local server (real SigV4 edge, broker, sandboxes,
 * dynalite audit store and audit log) in a temporary CUSTODY_HOME on a free loopback port, with
 * the sandbox wrapped so every execution that reaches it is counted; signed clients per
 * principal; the whole audit table read back; digests written and the trail verified.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type SignedClient, type SigningKey, signedClient } from '../../bench/lib/signed-client.ts';
import { DynamoDbAuditChain } from '../../lambda/adapters/aws/dynamodb-audit-chain.ts';
import { type VerifyResult, verifyAudit } from '../../lambda/adapters/aws/dynamodb-audit-verify.ts';
import { digestUntilCurrent } from '../../lambda/adapters/aws/dynamodb-digests.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { localDynamoDbClient } from '../../lambda/adapters/local/local-dynamodb-client.ts';
import { isRecordItem, readRecordItem } from '../../lambda/audit/item.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import type { Sandbox, SandboxRequest } from '../../lambda/core/types.ts';
import {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
} from '../../lambda/handlers/local-server.ts';
import { createSandbox } from '../../lambda/sandbox/index.ts';

const ROOT = resolve(import.meta.dirname, '../..');

export interface LoadServer {
  readonly server: LocalServer;
  readonly home: string;
  /** Every request that reached the sandbox, by execution id. */
  readonly sandboxRuns: Map<string, SandboxRequest>;
  /** A signed client for a principal of custody.policy.json (agent, auditor, stranger). */
  client(principal: string): SignedClient;
  /** A client signing with these keys (wrong ones, for hostile requests). */
  clientWithKey(key: SigningKey): SignedClient;
  /** Every audit record in the table (a full Scan). */
  allRecords(): Promise<AuditRecord[]>;
  /** Writes digests up to now (no settle delay) and verifies the whole trail against them. */
  digestAndVerify(): Promise<VerifyResult>;
  stop(): Promise<void>;
}

export async function startLoadServer(
  options: LocalServerOptions = {},
  setup: { readonly warmUpPython?: boolean } = {},
): Promise<LoadServer> {
  const home = mkdtempSync(join(tmpdir(), 'custody-load-'));
  const inner = createSandbox();
  const sandboxRuns = new Map<string, SandboxRequest>();
  const sandbox: Sandbox = {
    run(request) {
      sandboxRuns.set(request.executionId, request);
      return inner.run(request);
    },
  };
  const clients: SignedClient[] = [];
  let server: LocalServer | undefined;
  let dynamo: DynamoDBClient | undefined;
  try {
    if (setup.warmUpPython ?? true) await inner.warmUp();
    server = await startLocalServer({
      port: 0,
      policyFile: join(ROOT, 'custody.policy.json'),
      digestIntervalMs: 3_600_000,
      sandbox,
      ...options,
      home,
    });
    const running = server;
    const db = localDynamoDbClient({ endpoint: running.info.dynamodbEndpoint, region: running.region });
    dynamo = db;
    const tableName = running.info.auditTableName;
    return {
      server: running,
      home,
      sandboxRuns,
      client(principal) {
        const identity = running.identities.find((i) => i.profileName === principal);
        if (!identity) throw new Error(`no local identity ${principal}`);
        const client = signedClient({ baseUrl: running.url, key: identity, region: running.region });
        clients.push(client);
        return client;
      },
      clientWithKey(key) {
        const client = signedClient({ baseUrl: running.url, key, region: running.region });
        clients.push(client);
        return client;
      },
      async allRecords() {
        const records: AuditRecord[] = [];
        for (const item of await new DynamoDbAuditChain({ client: db, tableName }).scanAll()) {
          if (!isRecordItem(item)) continue;
          const read = readRecordItem(item);
          if (!read.ok) throw new Error(read.message);
          records.push(read.stored.record);
        }
        return records;
      },
      async digestAndVerify() {
        const signer = await FileAuditSigner.open(running.paths.auditSigningKey);
        await new Promise((r) => setTimeout(r, 5));
        await digestUntilCurrent({ client: db, tableName, signer, log: running.auditLog, settleMs: 0 });
        return verifyAudit({
          client: db,
          tableName,
          signer,
          anchors: await running.auditLog.readDigestAnchors(),
        });
      },
      async stop() {
        for (const c of clients) c.close();
        db.destroy();
        await running.close();
        await inner.close();
        rmSync(home, { recursive: true, force: true });
      },
    };
  } catch (error) {
    dynamo?.destroy();
    await server?.close();
    await inner.close();
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

/** Runs `count` operations with at most `concurrency` in flight; returns their results in order. */
export async function pool<T>(
  count: number,
  concurrency: number,
  work: (i: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(count, concurrency) }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await work(i);
      }
    }),
  );
  return results;
}

/** The execution id a response names: a 200's body, or a refusal's `error.executionId`. */
export function executionIdOf(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { executionId?: string; error?: { executionId?: string } };
    return parsed.executionId ?? parsed.error?.executionId;
  } catch {
    return undefined;
  }
}
