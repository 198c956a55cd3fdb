/**
 * Finds the running local stack: `$CUSTODY_HOME/local.json` when CUSTODY_HOME is set, else the
 * nearest `.custody/local.json` in the working directory or one of its parents (as git finds
 * `.git`), so the CLI works from any subdirectory of the project.
 */
import { dirname, join, resolve } from 'node:path';
import { readLocalStack } from '../../lambda/core/local-stack.ts';
import type { CliIo } from './io.ts';

/** What `.custody/local.json` says about a running local server, and the folder it is in. */
export interface LocalStack {
  readonly apiEndpoint: string;
  readonly region: string;
  readonly credentialsFile: string;
  readonly dynamodbEndpoint: string;
  readonly auditTableName: string;
  readonly auditLog: string;
  readonly auditPublicKey?: string;
  /** The policy file the server runs (older local.json files lack it). */
  readonly policyFile?: string;
  readonly home: string;
}

export function localStack(io: Pick<CliIo, 'cwd' | 'env'>): LocalStack | undefined {
  const explicit = io.env.CUSTODY_HOME;
  if (explicit) return withHome(resolve(io.cwd, explicit));
  for (let dir = resolve(io.cwd); ; dir = dirname(dir)) {
    const found = withHome(join(dir, '.custody'));
    if (found) return found;
    if (dirname(dir) === dir) return undefined;
  }
}

function withHome(home: string): LocalStack | undefined {
  const info = readLocalStack(home);
  return info ? { ...(info as LocalStack), home } : undefined;
}
