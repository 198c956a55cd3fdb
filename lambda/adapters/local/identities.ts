/**
 * Local identities: the access keys local mode accepts, one per policy principal.
 *
 * On first start every principal of the policy gets a random key pair, written to
 * `.custody/credentials` in the AWS shared-credentials format (one profile named after the
 * principal's id), so any AWS SDK, the AWS CLI, botocore or curl can sign as it. The server maps
 * each key to the ARN API Gateway would report for that principal: a role principal signs as a
 * session of its role (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/local`, with a session token, as
 * temporary credentials do), a user principal as the user (a long-term key, no token).
 * Later starts read the same file back; principals added to the policy get a key then.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Policy, Principal } from '../../core/policy.ts';
import { type LocalPaths, writeFileAtomic } from './home.ts';
import type { SigningIdentity } from './sigv4.ts';

/** The session name local role identities sign under (the last part of their assumed-role ARN). */
const LOCAL_ROLE_SESSION_NAME = 'local';

export interface LocalIdentity extends SigningIdentity {
  /** The profile name in the credentials file: the principal's policy id. */
  readonly profileName: string;
  /** The policy principal's ARN (role or user). */
  readonly principalArn: string;
  /** The ARN a request signed with this key is attributed to (what API Gateway reports as userArn). */
  readonly callerArn: string;
  readonly accountId: string;
}

class IdentitiesFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'IdentitiesFileError';
  }
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function randomKeyId(prefix: 'AKIA' | 'ASIA'): string {
  const bytes = randomBytes(16);
  let id = prefix;
  for (const byte of bytes) id += BASE32[byte % 32];
  return id;
}

function randomSecret(): string {
  return randomBytes(30).toString('base64');
}

/** What API Gateway reports as the caller for a principal: a role session, or the user itself. */
export function callerArnOf(principal: Pick<Principal, 'arn'>): string {
  const m = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@-]+\/)*([\w+=,.@-]+)$/.exec(principal.arn);
  if (!m) return principal.arn;
  const [, partition, account, roleName] = m;
  return `arn:${partition}:sts::${account}:assumed-role/${roleName}/${LOCAL_ROLE_SESSION_NAME}`;
}

function isRole(principal: Principal): boolean {
  return /^arn:aws[a-z-]*:iam::\d{12}:role\//.test(principal.arn);
}

interface StoredKeys {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** Parses an AWS shared-credentials (INI) file: section -> key -> value. */
export function parseCredentialsFile(text: string, source: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const section = /^\[\s*([^\]]+?)\s*\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1] as string, current);
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0 || !current) {
      throw new IdentitiesFileError(
        `${source}:${index + 1}: expected "[profile]" or "key = value", found "${line.slice(0, 40)}"`,
      );
    }
    current.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  });
  return sections;
}

function renderCredentialsFile(
  principals: readonly Principal[],
  keys: ReadonlyMap<string, StoredKeys>,
): string {
  const lines = [
    '# custody local mode: one profile per principal of custody.policy.json.',
    '# Generated on first start; keep it private (mode 0600). Delete it to get new keys.',
  ];
  // A command that runs as written: the first principal with a grant, and that grant's profile.
  const example = principals.find((p) => p.grants.length > 0);
  const grant = example?.grants[0];
  if (example && grant) {
    lines.push(
      `# Use: AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE=${example.id} npx custody profiles`,
      `#      AWS_SHARED_CREDENTIALS_FILE=<this file> AWS_PROFILE=${example.id} npx custody run --profile ${grant.profile} --language python -c "print(1)"`,
    );
  }
  for (const principal of principals) {
    const k = keys.get(principal.id);
    if (!k) continue;
    lines.push('', `# ${principal.arn}${principal.description ? ` — ${principal.description}` : ''}`);
    lines.push(`[${principal.id}]`);
    lines.push(`aws_access_key_id = ${k.accessKeyId}`);
    lines.push(`aws_secret_access_key = ${k.secretAccessKey}`);
    if (k.sessionToken) lines.push(`aws_session_token = ${k.sessionToken}`);
  }
  return `${lines.join('\n')}\n`;
}

export interface LoadedIdentities {
  readonly identities: readonly LocalIdentity[];
  /** Whether any key was generated on this start (first start, or new principals). */
  readonly generated: boolean;
}

/**
 * Reads `.custody/credentials`, generating keys for principals that have none, and returns the
 * identities the server accepts. Profiles in the file that name no policy principal are ignored
 * (their keys are not accepted).
 */
export function loadOrCreateIdentities(paths: LocalPaths, policy: Policy): LoadedIdentities {
  const keys = new Map<string, StoredKeys>();
  if (existsSync(paths.credentialsFile)) {
    const sections = parseCredentialsFile(readFileSync(paths.credentialsFile, 'utf8'), paths.credentialsFile);
    for (const [name, values] of sections) {
      const accessKeyId = values.get('aws_access_key_id');
      const secretAccessKey = values.get('aws_secret_access_key');
      if (!accessKeyId || !secretAccessKey) {
        throw new IdentitiesFileError(
          `${paths.credentialsFile}: profile [${name}] needs aws_access_key_id and aws_secret_access_key (delete the file to regenerate it)`,
        );
      }
      const sessionToken = values.get('aws_session_token');
      keys.set(name, { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
    }
  }
  let generated = false;
  for (const principal of policy.principals) {
    if (keys.has(principal.id)) continue;
    generated = true;
    const role = isRole(principal);
    keys.set(principal.id, {
      accessKeyId: randomKeyId(role ? 'ASIA' : 'AKIA'),
      secretAccessKey: randomSecret(),
      ...(role ? { sessionToken: randomBytes(48).toString('base64') } : {}),
    });
  }
  if (generated) writeFileAtomic(paths.credentialsFile, renderCredentialsFile(policy.principals, keys));

  const seen = new Set<string>();
  const identities: LocalIdentity[] = [];
  for (const principal of policy.principals) {
    const k = keys.get(principal.id);
    if (!k) continue;
    if (seen.has(k.accessKeyId)) {
      throw new IdentitiesFileError(
        `${paths.credentialsFile}: access key ${k.accessKeyId} appears under two profiles; each principal needs its own key`,
      );
    }
    seen.add(k.accessKeyId);
    identities.push({
      ...k,
      profileName: principal.id,
      principalArn: principal.arn,
      callerArn: callerArnOf(principal),
      accountId: principal.arn.split(':')[4] as string,
    });
  }
  return { identities, generated };
}
