/**
 * Local mode's configuration, read once at start-up from the environment. Every bad value is
 * refused with a message naming the variable.
 */
import { DEFAULT_POLICY_FILE } from '../../core/policy.ts';

export const DEFAULT_LOCAL_PORT = 8787;
export const DEFAULT_LOCAL_HOST = '127.0.0.1';
export const DEFAULT_LOCAL_REGION = 'us-east-1';

export interface LocalConfig {
  /** `CUSTODY_HOME`; undefined means `.custody`. */
  readonly home?: string;
  /** `CUSTODY_PORT`; 0 picks a free port. @default 8787 */
  readonly port: number;
  /** `CUSTODY_HOST`: loopback only unless you mean it. @default '127.0.0.1' */
  readonly host: string;
  /** `CUSTODY_REGION`: the region requests must be signed for. @default 'us-east-1' */
  readonly region: string;
  /** `CUSTODY_POLICY`. @default 'custody.policy.json' */
  readonly policyFile: string;
}

class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

function nonEmpty(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function localConfigFromEnv(env: NodeJS.ProcessEnv = process.env): LocalConfig {
  const rawPort = nonEmpty(env, 'CUSTODY_PORT');
  let port = DEFAULT_LOCAL_PORT;
  if (rawPort !== undefined) {
    if (!/^\d{1,5}$/.test(rawPort) || Number(rawPort) > 65_535) {
      throw new ConfigError(`CUSTODY_PORT must be a port number from 0 to 65535, got "${rawPort}"`);
    }
    port = Number(rawPort);
  }
  const region = nonEmpty(env, 'CUSTODY_REGION') ?? DEFAULT_LOCAL_REGION;
  if (!/^[a-z]{2}(-[a-z]+)+-\d{1,2}$/.test(region)) {
    throw new ConfigError(`CUSTODY_REGION must be an AWS region name such as us-east-1, got "${region}"`);
  }
  const home = nonEmpty(env, 'CUSTODY_HOME');
  return {
    ...(home !== undefined ? { home } : {}),
    port,
    host: nonEmpty(env, 'CUSTODY_HOST') ?? DEFAULT_LOCAL_HOST,
    region,
    policyFile: nonEmpty(env, 'CUSTODY_POLICY') ?? DEFAULT_POLICY_FILE,
  };
}
