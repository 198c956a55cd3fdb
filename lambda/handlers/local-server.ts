/**
 * Local mode's composition root: the deployed API on one machine, with no AWS account.
 *
 * It claims the data directory (`pid-lock.ts`), builds the local adapters (an STS-like minting
 * authority, a secrets file, the sandboxes in-process, the audit trail on dynalite, a real
 * DynamoDB-compatible server persisted on disk, plus a JSON-lines audit log and its digests), the
 * same broker core as on AWS, and the HTTP edge in front of it (`http-edge.ts`: what API Gateway
 * does), then writes `.custody/local.json` (`lambda/core/local-stack.ts`) for clients to find it.
 */
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { loadCheckedProfilePackages } from '../../lib/bundling/js-packages-load-check.ts';
import { createAuditTable } from '../adapters/aws/audit-table.ts';
import { DynamoDbAuditStore } from '../adapters/aws/dynamodb-audit-store.ts';
import { type DigestSchedule, scheduleDigests } from '../adapters/aws/dynamodb-digests.ts';
import { DynamoDbRevocationStore } from '../adapters/aws/dynamodb-revocation-store.ts';
import { createSessionTable, DynamoDbSessionStore } from '../adapters/aws/dynamodb-session-store.ts';
import { S3Artifacts } from '../adapters/aws/s3-artifacts.ts';
import { S3Datasets } from '../adapters/aws/s3-datasets.ts';
import { DEFAULT_LOCAL_HOST, DEFAULT_LOCAL_PORT, DEFAULT_LOCAL_REGION } from '../adapters/local/config.ts';
import { LocalCredentialsPort } from '../adapters/local/credentials.ts';
import { localDeployment } from '../adapters/local/deployment.ts';
import { embeddedDynamoDbClient } from '../adapters/local/embedded-dynamodb.ts';
import { type LaneOptions, LocalExecutorPort, localSandboxSlots } from '../adapters/local/executor.ts';
import { FileAuditLog } from '../adapters/local/file-audit-log.ts';
import { FileAuditSigner } from '../adapters/local/file-audit-signer.ts';
import { ensureHome, type LocalPaths, localPaths, writeFileAtomic } from '../adapters/local/home.ts';
import { closeServer, createHttpEdge, DEFAULT_MAX_BODY_BYTES, listen } from '../adapters/local/http-edge.ts';
import { type LocalIdentity, loadOrCreateIdentities } from '../adapters/local/identities.ts';
import { localDynamoDbClient } from '../adapters/local/local-dynamodb-client.ts';
import { LOCAL_S3_KEY, startLocalS3 } from '../adapters/local/local-s3.ts';
import { claimPidLock } from '../adapters/local/pid-lock.ts';
import { QuickJsWorker } from '../adapters/local/quickjs-worker.ts';
import { ScopedLocalDatasets } from '../adapters/local/scoped-datasets.ts';
import { ensureSecretsFile, LocalSecretsPort } from '../adapters/local/secrets.ts';
import { LocalSessionKeyVault } from '../adapters/local/session-key-vault.ts';
import { FileSessionStateStore } from '../adapters/local/session-state-files.ts';
import { reconcileLocalLog } from '../audit/scheduled-reconcile.ts';
import { createBrokerApi } from '../broker/api.ts';
import { sandboxLimitsFor } from '../broker/decision.ts';
import { LOCAL_AUDIT_TABLE_NAME } from '../core/audit-table.ts';
import { type LocalStackInfo, localStackInfoSchema } from '../core/local-stack.ts';
import { loadPolicyFile, type Policy } from '../core/policy.ts';
import type { Clock } from '../core/ports.ts';
import type { Sandbox } from '../core/types.ts';
import { createSandbox, type SandboxOptions } from '../sandbox/index.ts';
import type { SnapshotEvent } from '../sandbox/python-snapshot-cache.ts';

export { DEFAULT_MAX_BODY_BYTES } from '../adapters/local/http-edge.ts';
export { LocalServerError } from '../adapters/local/local-server-error.ts';

export interface LocalServerOptions {
  /** Data directory. @default CUSTODY_HOME, else '.custody' */
  readonly home?: string;
  /** 0 picks a free port. @default 8787 */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Region requests must be signed for. @default 'us-east-1' */
  readonly region?: string;
  /** @default 'custody.policy.json' */
  readonly policyFile?: string;
  /** @default 6 MiB */
  readonly maxBodyBytes?: number;
  /** The clock of signature checks, sessions and audit records. @default () => new Date() */
  readonly clock?: Clock;
  /** The sandbox executions run in. @default createSandbox() from lambda/sandbox */
  readonly sandbox?: Sandbox;
  /** How runs are admitted to each sandbox (`lambda/adapters/local/executor.ts`). @default localSandboxSlots() each */
  readonly queues?: { readonly javascript?: LaneOptions; readonly python?: LaneOptions };
  /** How often a signed digest of new audit records is written. @default 60_000 */
  readonly digestIntervalMs?: number;
  /**
   * An already running DynamoDB-compatible endpoint for the audit table, instead of the embedded
   * dynalite (the load tests stop it to inject an audit-store outage). @default dynalite under the data directory
   */
  readonly dynamodbEndpoint?: string;
  /** How often sessions past their end or revoked are ended (`sweepSessions`). @default 60_000 */
  readonly sessionSweepIntervalMs?: number;
  /** Told when the Python snapshot (kept in `.custody/python`) is built, reused or rejected. */
  readonly onSnapshot?: (event: SnapshotEvent) => void;
  /** #16: sample datasets copied into the local S3 server on start. @default 'local/datasets' */
  readonly datasetsSeedDir?: string;
  /**
   * Lays out the policy's Pyodide packages in `dir` (bin/local.ts passes
   * lib/bundling/local-python-packages.ts). @default none: Python runs with the standard library only
   */
  readonly preparePythonPackages?: (policy: Policy, dir: string) => Promise<LocalPythonPackages>;
}

/** What `preparePythonPackages` gives the sandbox (#17). */
export interface LocalPythonPackages {
  readonly dir?: string;
  readonly perProfile: Readonly<Record<string, readonly string[]>>;
  /** Profile -> why its packages are missing: said at start, and in the message of its imports. */
  readonly problems: Readonly<Record<string, string>>;
}

/** The sandbox options of the prepared packages; each problem is said once, at start. */
async function localPythonPackages(
  options: LocalServerOptions,
  policy: Policy,
  home: string,
): Promise<Pick<SandboxOptions, 'pythonPackagesDir' | 'pythonPackages' | 'pythonPackageProblems'>> {
  if (!options.preparePythonPackages) return {};
  const prepared = await options.preparePythonPackages(policy, join(home, 'python-packages'));
  const problems: Record<string, string> = {};
  for (const [profile, problem] of Object.entries(prepared.problems)) {
    process.stderr.write(`custody: profile "${profile}" runs without its Python packages: ${problem}\n`);
    problems[profile] = 'npm start could not prepare its Python packages; see its start-up output';
  }
  return {
    ...(prepared.dir ? { pythonPackagesDir: prepared.dir } : {}),
    pythonPackages: prepared.perProfile,
    pythonPackageProblems: problems,
  };
}

export interface LocalServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly region: string;
  readonly paths: LocalPaths;
  readonly policy: Policy;
  readonly identities: readonly LocalIdentity[];
  readonly info: LocalStackInfo;
  /** Whether this start generated access keys (first start, or principals new to the policy). */
  readonly generatedKeys: boolean;
  readonly credentials: LocalCredentialsPort;
  readonly secrets: LocalSecretsPort;
  readonly executor: LocalExecutorPort;
  /** The kill switch's state (in the audit table), read on every request. */
  readonly revocations: DynamoDbRevocationStore;
  readonly auditStore: DynamoDbAuditStore;
  readonly auditLog: FileAuditLog;
  /** The signed-digest timer; `runNow()` digests what has settled. */
  readonly digests: DigestSchedule;
  /**
   * Settles once Python is ready (snapshot built or reused, a process loaded), or its warm-up
   * failed (reported on stderr); never rejects. Already settled with `options.sandbox`.
   */
  readonly pythonReady: Promise<void>;
  /** Ends the sessions that are over (expired, or revoked); also run on a timer. */
  sweepSessions(): Promise<{ ended: number }>;
  /** Stops accepting requests, finishes the ones in flight, then closes the sandbox and dynalite. */
  close(): Promise<void>;
}

const LOCAL_SESSION_TABLE_NAME = 'custody-sessions';

// dynalite ships no types: its factory returns a node http.Server whose close() also closes LevelDB.
const dynalite = createRequire(import.meta.url)('dynalite') as (options: {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

export async function startLocalServer(options: LocalServerOptions = {}): Promise<LocalServer> {
  const region = options.region ?? DEFAULT_LOCAL_REGION;
  const host = options.host ?? DEFAULT_LOCAL_HOST;
  const clock = options.clock ?? (() => new Date());
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const policyFile = options.policyFile ?? 'custody.policy.json';
  const policy = loadPolicyFile(policyFile);
  const paths = localPaths(options.home);
  ensureHome(paths);
  const lock = claimPidLock(paths.home);

  const cleanups: (() => Promise<void> | void)[] = [() => lock.release()];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch {
        // Keep closing the rest.
      }
    }
  };

  try {
    const { identities, generated } = loadOrCreateIdentities(paths, policy);
    ensureSecretsFile(paths.secretsFile, policy);

    // The audit store: dynalite on a free loopback port, persisted under the data directory.
    // The server's own calls go to it in process (embedded-dynamodb.ts); it also listens on loopback
    // for the CLI.
    let dynamodbEndpoint = options.dynamodbEndpoint;
    let dynamo: DynamoDBClient;
    if (dynamodbEndpoint === undefined) {
      const db = dynalite({ path: paths.dynamodbDir, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
      const dbPort = await listen(db, 0, '127.0.0.1');
      cleanups.push(() => {
        db.closeAllConnections();
        return new Promise<void>((resolve) => db.close(() => resolve()));
      });
      dynamodbEndpoint = `http://127.0.0.1:${dbPort}`;
      dynamo = embeddedDynamoDbClient(db, dynamodbEndpoint, region);
    } else {
      dynamo = localDynamoDbClient({ endpoint: dynamodbEndpoint, region });
    }
    cleanups.push(() => dynamo.destroy());
    const auditTableName = LOCAL_AUDIT_TABLE_NAME;
    await createAuditTable(dynamo, auditTableName);
    const auditStore = new DynamoDbAuditStore({ client: dynamo, tableName: auditTableName, clock });
    const auditLog = new FileAuditLog(paths.auditLog);
    cleanups.push(() => auditLog.close());
    const signer = await FileAuditSigner.open(paths.auditSigningKey);
    const digests = scheduleDigests({
      client: dynamo,
      tableName: auditTableName,
      signer,
      log: auditLog,
      clock,
      intervalMs: options.digestIntervalMs ?? 60_000,
      onError: (error) => process.stderr.write(`custody: audit digest failed: ${(error as Error).message}\n`),
      // Records only in .custody/audit.log (auditPending) enter the table before each digest.
      beforeEach: () => reconcileLocalLog(auditStore, auditLog, clock),
    });
    cleanups.push(() => digests.stop());

    const deployment = localDeployment(policy, region);
    // `custody revoke` writes this state straight into the table; it applies to the next request.
    const revocations = new DynamoDbRevocationStore({ client: dynamo, tableName: auditTableName, clock });
    const credentials = new LocalCredentialsPort({
      deployment,
      clock,
      stsLogFile: paths.stsLog,
      revocations,
    });
    cleanups.push(() => credentials.close());
    const secrets = new LocalSecretsPort({ file: paths.secretsFile, credentials, deployment });
    // #16: datasets and artifacts on a real S3-compatible server, behind the local IAM check.
    const s3 = await startLocalS3({
      directory: join(paths.home, 's3'),
      policy,
      seedDir: options.datasetsSeedDir ?? 'local/datasets',
      region,
    });
    cleanups.push(() => s3.close());
    const s3Options = { region, endpoint: s3.endpoint, signWith: () => LOCAL_S3_KEY };
    const datasets = new ScopedLocalDatasets({
      policy,
      credentials,
      datasets: new S3Datasets(s3Options),
      artifacts: new S3Artifacts(s3Options),
    });
    let sandbox = options.sandbox;
    let pythonReady = Promise.resolve();
    if (!sandbox) {
      // JavaScript in a worker thread: its garbage collection does not pause this one (quickjs-worker.ts).
      // As many runs of each language as the fair queues admit (lambda/adapters/local/executor.ts).
      const slots = localSandboxSlots();
      const own = createSandbox({
        maxConcurrent: slots,
        snapshotDir: paths.pythonSnapshotDir,
        ...(await localPythonPackages(options, policy, paths.home)),
        // The pre-started process's heap limit is fixed when it starts: make it the one the first
        // Python profile's runs ask for, or the first run would start a process of its own.
        ...pythonPrestartMemory(policy),
        ...(options.onSnapshot ? { onSnapshot: options.onSnapshot } : {}),
        javascript: (quickJs) => new QuickJsWorker({ sandbox: quickJs, threads: slots }),
        // The JavaScript packages each profile declares, bundled now as synth bundles them (#17).
        javascriptPackages: await loadCheckedProfilePackages(policy.profiles),
      });
      let sandboxClosed = false;
      cleanups.push(() => {
        sandboxClosed = true;
        return own.close();
      });
      // Prepare Python (snapshot, pre-started process) while the server starts; `npm start` waits
      // for it before it says ready. A warm-up cut short by closing the server is no failure.
      pythonReady = own.warmUp().catch((error: unknown) => {
        if (sandboxClosed) return;
        process.stderr.write(`custody: Python sandbox warm-up failed: ${(error as Error).message}\n`);
      });
      sandbox = own;
    }
    const executor = new LocalExecutorPort({ sandbox, credentials, ...options.queues });
    // Sessions: records in dynalite beside the audit table, sealed state and the master key under
    // the data directory (owner-only), state read and written with each call's role session.
    await createSessionTable(dynamo, LOCAL_SESSION_TABLE_NAME);
    const sessions = {
      store: new DynamoDbSessionStore(dynamo, LOCAL_SESSION_TABLE_NAME),
      state: new FileSessionStateStore(join(paths.home, 'sessions'), credentials),
      vault: LocalSessionKeyVault.open(join(paths.home, 'session-master.key')),
    };
    const broker = createBrokerApi({
      policy,
      deployment,
      credentials,
      secrets,
      executor,
      auditStore,
      auditLog,
      revocations,
      sessions,
      clock,
      origin: 'local',
      datasets,
      artifacts: datasets,
    });
    const sweep = setInterval(() => {
      broker.sweepSessions().catch((error: unknown) => {
        process.stderr.write(`custody: session sweep failed: ${(error as Error).message}\n`);
      });
    }, options.sessionSweepIntervalMs ?? 60_000);
    sweep.unref();
    cleanups.push(() => clearInterval(sweep));

    const http = createHttpEdge({ broker, identities, region, clock, maxBodyBytes });
    const port = await listen(http, options.port ?? DEFAULT_LOCAL_PORT, host);
    cleanups.push(() => closeServer(http));
    const url = `http://${host}:${port}`;

    const info: LocalStackInfo = localStackInfoSchema.parse({
      apiEndpoint: url,
      dynamodbEndpoint,
      s3Endpoint: s3.endpoint,
      auditTableName,
      region,
      credentialsFile: paths.credentialsFile,
      auditLog: paths.auditLog,
      secretsFile: paths.secretsFile,
      auditPublicKey: `${paths.auditSigningKey}.pub.pem`,
      profiles: identities.map((i) => i.profileName),
      policyFile: resolve(policyFile),
      pid: process.pid,
      startedAt: clock().toISOString(),
    });
    writeFileAtomic(paths.localJson, `${JSON.stringify(info, null, 2)}\n`, 0o644);

    let closing: Promise<void> | undefined;
    return {
      url,
      port,
      region,
      paths,
      policy,
      identities,
      info,
      generatedKeys: generated,
      credentials,
      secrets,
      executor,
      revocations,
      auditStore,
      auditLog,
      digests,
      pythonReady,
      sweepSessions: () => broker.sweepSessions(),
      close() {
        closing ??= cleanup();
        return closing;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

function pythonPrestartMemory(policy: Policy): { prestartMemoryMiB?: number } {
  const profile = Object.values(policy.profiles).find((p) => p.languages.includes('python'));
  return profile ? { prestartMemoryMiB: sandboxLimitsFor(profile, profile.timeoutMs).memoryMiB } : {};
}

/** Relative form of a path for printing (`.custody/credentials` rather than an absolute path). */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}
