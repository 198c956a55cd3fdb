/**
 * A real DynamoDB-compatible server for tests: dynalite on a free loopback port, in memory (or
 * LevelDB on `path`), with the audit table created. Stop it in `afterAll`/`afterEach`.
 *
 *   const db = await startDynalite();
 *   const store = new DynamoDbAuditStore({ client: db.client, tableName: db.tableName });
 *   ...
 *   await db.stop();
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createAuditTable } from '../../lambda/adapters/aws/audit-table.ts';
import { localDynamoDbClient } from '../../lambda/adapters/local/local-dynamodb-client.ts';
import { LOCAL_AUDIT_TABLE_NAME } from '../../lambda/core/audit-table.ts';

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}
// dynalite ships no types: its factory returns a node http.Server.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: DynaliteOptions) => Server;

export interface StartDynaliteOptions {
  /** LevelDB directory; in memory if absent. */
  readonly path?: string;
  /** @default LOCAL_AUDIT_TABLE_NAME ('custody-audit') */
  readonly tableName?: string;
  /** Create the audit table. @default true */
  readonly createTable?: boolean;
}

export interface RunningDynalite {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly tableName: string;
  /** A client with its own settings (e.g. maxAttempts) against this server; destroyed by stop(). */
  newClient(config?: { maxAttempts?: number }): DynamoDBClient;
  stop(): Promise<void>;
}

export function dynamoDbClient(endpoint: string, config: { maxAttempts?: number } = {}): DynamoDBClient {
  return localDynamoDbClient({ endpoint, maxAttempts: config.maxAttempts ?? 3 });
}

export async function startDynalite(options: StartDynaliteOptions = {}): Promise<RunningDynalite> {
  const server = dynalite({
    ...(options.path === undefined ? {} : { path: options.path }),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const clients: DynamoDBClient[] = [];
  const newClient = (config: { maxAttempts?: number } = {}): DynamoDBClient => {
    const c = dynamoDbClient(endpoint, config);
    clients.push(c);
    return c;
  };
  const client = newClient();
  const tableName = options.tableName ?? LOCAL_AUDIT_TABLE_NAME;
  const stop = async (): Promise<void> => {
    for (const c of clients) c.destroy();
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  try {
    if (options.createTable ?? true) await createAuditTable(client, tableName);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, client, tableName, newClient, stop };
}
