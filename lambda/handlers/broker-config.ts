/**
 * The broker Lambda's configuration, read once at cold start from its environment. Every missing
 * or malformed variable is reported by name, all at once, so a bad deployment says what to fix.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { KmsSessionKeyVault } from '../adapters/aws/kms-session-key-vault.ts';
import { S3SessionState } from '../adapters/aws/s3-session-state.ts';
import {
  DEPLOYMENT_FILE,
  type Deployment,
  deploymentSchema,
  parseDeploymentFile,
  resolveDeployment,
} from '../core/deployment.ts';
import { BROKER_ENV } from '../core/env-names.ts';
import type { SessionKeyVault, SessionStateStore } from '../core/session.ts';
import { firstIssue } from '../core/zod-issues.ts';

export class BrokerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BrokerConfigError';
  }
}

export interface BrokerConfig {
  readonly deployment: Deployment;
  readonly auditTable: string;
  readonly auditLogGroup: string;
  /** Absolute path of the policy file in the bundle. */
  readonly policyFile: string;
  readonly region: string;
  /** Where sessions live (#15); absent when the environment names no session table (503 on their routes). */
  readonly sessions?: SessionConfig;
}

/** Parses `CUSTODY_DEPLOYMENT` (BROKER_ENV.deployment); the error names the bad path (`profiles.reports.roleArn`). */
export function parseDeployment(text: string): Deployment {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new BrokerConfigError(`${BROKER_ENV.deployment} is not valid JSON`);
  }
  const parsed = deploymentSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  throw new BrokerConfigError(`${BROKER_ENV.deployment}.${firstIssue(parsed.error, { root: '' })}`);
}

/** Reads the configuration; throws BrokerConfigError listing every problem. */
export function readBrokerConfig(env: Readonly<Record<string, string | undefined>>): BrokerConfig {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      problems.push(`${name} is not set`);
      return '';
    }
    return value;
  };
  const auditTable = required(BROKER_ENV.auditTable);
  const auditLogGroup = required(BROKER_ENV.auditLogGroup);
  const region = required('AWS_REGION');
  const root = env.LAMBDA_TASK_ROOT?.trim() || process.cwd();
  const inBundle = (file: string) => (isAbsolute(file) ? file : join(root, file));
  let deployment: Deployment = { profiles: {} };
  try {
    // CUSTODY_DEPLOYMENT (the ARNs inline) for tests and hand-made setups; a deployed stack has
    // the file in the bundle (lambda/core/deployment.ts).
    const inline = env[BROKER_ENV.deployment];
    if (inline !== undefined && inline.trim() !== '') {
      deployment = parseDeployment(inline);
    } else {
      const account = required(BROKER_ENV.account);
      const partition = required(BROKER_ENV.partition);
      const path = inBundle(env[BROKER_ENV.deploymentFile]?.trim() || DEPLOYMENT_FILE);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw new BrokerConfigError(
          `the deployment file ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}) and ${BROKER_ENV.deployment} is not set`,
        );
      }
      const file = parseDeploymentFile(text, path);
      if (account !== '' && partition !== '' && region !== '') {
        deployment = resolveDeployment(file, { account, partition, region });
      }
    }
  } catch (error) {
    problems.push((error as Error).message);
  }
  if (problems.length > 0)
    throw new BrokerConfigError(`Broker configuration invalid: ${problems.join('; ')}`);
  // The stack always sets the session variables; a hand-made setup without a table has no sessions.
  const sessions = env[BROKER_ENV.sessionTable]?.trim() ? readSessionConfig(env) : undefined;
  return {
    deployment,
    auditTable,
    auditLogGroup,
    policyFile: inBundle(env[BROKER_ENV.policyFile]?.trim() || 'policy.json'),
    region,
    ...(sessions ? { sessions } : {}),
  };
}

/** Where the sessions (#15) live: set by `lib/broker.ts` from `lib/sessions.ts`. */
export interface SessionConfig {
  readonly table: string;
  readonly bucket: string;
  readonly keyArn: string;
  /** The account that owns the bucket (`ExpectedBucketOwner`). */
  readonly account: string;
  readonly region: string;
}

/** Reads the session variables; throws BrokerConfigError listing every one missing. */
export function readSessionConfig(env: Readonly<Record<string, string | undefined>>): SessionConfig {
  const names = {
    table: BROKER_ENV.sessionTable,
    bucket: BROKER_ENV.sessionBucket,
    keyArn: BROKER_ENV.sessionKeyArn,
    account: BROKER_ENV.account,
    region: 'AWS_REGION',
  } as const;
  const values = Object.fromEntries(
    Object.entries(names).map(([field, name]) => [field, env[name]?.trim() ?? '']),
  ) as Record<keyof typeof names, string>;
  const missing = Object.entries(names)
    .filter(([field]) => values[field as keyof typeof names] === '')
    .map(([, name]) => `${name} is not set`);
  if (missing.length > 0) {
    throw new BrokerConfigError(`Broker session configuration invalid: ${missing.join('; ')}`);
  }
  if (!/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[\w-]+$/.test(values.keyArn)) {
    throw new BrokerConfigError(`${BROKER_ENV.sessionKeyArn} is not a KMS key ARN: ${values.keyArn}`);
  }
  return values;
}

/**
 * The AWS adapters of the session state (S3, signed per call with the call's role session; the
 * broker's own client only deletes) and of the session data keys (KMS), from the environment.
 * The session table's adapter is built beside them (`buildAwsBroker`), from `config.table`.
 */
export function sessionAdapters(config: SessionConfig): {
  readonly state: SessionStateStore;
  readonly vault: SessionKeyVault;
} {
  return {
    state: new S3SessionState({
      region: config.region,
      bucket: config.bucket,
      bucketOwner: config.account,
      keyArn: config.keyArn,
      brokerClient: new S3Client({ region: config.region }),
    }),
    vault: new KmsSessionKeyVault({
      client: new KMSClient({ region: config.region }),
      keyId: config.keyArn,
    }),
  };
}
