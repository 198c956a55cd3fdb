/**
 * Where local mode keeps its state: one data directory (`CUSTODY_HOME`, default `.custody`), so
 * that two servers with two directories never share a file, a key or a table.
 */
import { chmodSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LOCAL_STACK_FILE } from '../../core/local-stack.ts';

/** The data directory when neither an option nor `CUSTODY_HOME` names one. */
const DEFAULT_CUSTODY_HOME = '.custody';

export interface LocalPaths {
  /** Absolute path of the data directory. */
  readonly home: string;
  /** AWS shared-credentials file with one profile per policy principal. */
  readonly credentialsFile: string;
  /** Secret name -> value, for the secrets the policy's profiles name. */
  readonly secretsFile: string;
  /** What a client needs to find the running stack (endpoints, table, region). */
  readonly localJson: string;
  /** The audit log: one JSON line per audit record. */
  readonly auditLog: string;
  /** dynalite's LevelDB directory (the audit table). */
  readonly dynamodbDir: string;
  /** Every session the local credentials port issued, one JSON line each (no secrets). */
  readonly stsLog: string;
  /** EC P-256 key signing the audit digests (KMS's role on AWS); its public key is `<file>.pub.pem`. */
  readonly auditSigningKey: string;
  /**
   * The Pyodide memory snapshot kept across starts (`lambda/sandbox/python-snapshot-cache.ts`).
   * Loaded into every Python run: only this owner-only folder's owner may write it.
   */
  readonly pythonSnapshotDir: string;
}

/** Resolves the data directory: the explicit argument, else `CUSTODY_HOME`, else `.custody`. */
export function localPaths(home?: string, env: NodeJS.ProcessEnv = process.env): LocalPaths {
  const dir = resolve(home ?? (env.CUSTODY_HOME || DEFAULT_CUSTODY_HOME));
  return {
    home: dir,
    credentialsFile: join(dir, 'credentials'),
    secretsFile: join(dir, 'secrets.json'),
    localJson: join(dir, LOCAL_STACK_FILE),
    auditLog: join(dir, 'audit.log'),
    dynamodbDir: join(dir, 'dynamodb'),
    stsLog: join(dir, 'sts.log'),
    auditSigningKey: join(dir, 'audit-signing-key.pem'),
    pythonSnapshotDir: join(dir, 'python'),
  };
}

/** Creates the data directory, readable by its owner only. */
export function ensureHome(paths: LocalPaths): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
}

/** Writes a file atomically (temp file + rename) with the given mode, so readers never see half of it. */
export function writeFileAtomic(path: string, content: string, mode = 0o600): void {
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, content, { mode });
  chmodSync(temp, mode);
  renameSync(temp, path);
}
