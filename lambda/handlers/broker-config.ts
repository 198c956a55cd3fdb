/**
 * The broker Lambda's configuration, read once at cold start from its environment. Every missing
 * or malformed variable is reported by name, all at once, so a bad deployment says what to fix.
 */
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import {
  DEPLOYMENT_FILE,
  type Deployment,
  deploymentSchema,
  parseDeploymentFile,
  resolveDeployment,
} from '../core/deployment.ts';
import { BROKER_ENV } from '../core/env-names.ts';
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
  return {
    deployment,
    auditTable,
    auditLogGroup,
    policyFile: inBundle(env[BROKER_ENV.policyFile]?.trim() || 'policy.json'),
    region,
  };
}
