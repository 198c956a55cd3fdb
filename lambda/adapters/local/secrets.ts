/**
 * The local secrets port: Secrets Manager's role, played by `.custody/secrets.json`.
 *
 * The file maps secret names to values and is created on first start with a random value for
 * every secret the policy's profiles name (later starts add values for new names and keep the
 * rest). A read is authorised as Secrets Manager would authorise it with the assumed session:
 * the credentials must be a live session issued by the local credentials port, and every secret
 * asked for must belong to the profile whose role that session assumed. Anything else throws, and
 * the broker fails closed.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { DependencyError } from '../../core/errors.ts';
import type { Policy } from '../../core/policy.ts';
import type { AssumedSession, ExecutionContext, SecretRef, SecretsPort } from '../../core/ports.ts';
import { type LocalCredentialsPort, sessionProblem } from './credentials.ts';
import type { LocalDeployment } from './deployment.ts';
import { writeFileAtomic } from './home.ts';

class SecretsFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SecretsFileError';
  }
}

function parseSecretsFile(text: string, file: string): Record<string, string> {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new SecretsFileError(`${file} is not valid JSON (delete it to regenerate it)`);
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new SecretsFileError(`${file} must be a JSON object of secret name -> string value`);
  }
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(document)) {
    if (typeof value !== 'string') {
      throw new SecretsFileError(`${file}: the value of "${name}" must be a string`);
    }
    out[name] = value;
  }
  return out;
}

/**
 * Creates `secrets.json` (mode 0600) with a random value for each secret the policy names, or adds
 * the missing ones. Returns the names that were generated.
 */
export function ensureSecretsFile(file: string, policy: Policy): string[] {
  const existing = existsSync(file) ? parseSecretsFile(readFileSync(file, 'utf8'), file) : {};
  const generated: string[] = [];
  for (const profile of Object.values(policy.profiles)) {
    for (const secret of profile.secrets) {
      if (secret.secretName in existing) continue;
      existing[secret.secretName] = `local-${randomBytes(24).toString('base64url')}`;
      generated.push(secret.secretName);
    }
  }
  if (generated.length > 0 || !existsSync(file)) {
    writeFileAtomic(file, `${JSON.stringify(existing, null, 2)}\n`);
  }
  return generated;
}

export interface LocalSecretsOptions {
  readonly file: string;
  readonly credentials: LocalCredentialsPort;
  readonly deployment: LocalDeployment;
}

export class LocalSecretsPort implements SecretsPort {
  constructor(private readonly options: LocalSecretsOptions) {}

  async read(
    session: AssumedSession,
    secrets: readonly SecretRef[],
    context?: ExecutionContext,
  ): Promise<Record<string, string>> {
    const check = await this.options.credentials.authorize(session.credentials, context);
    if (!check.ok) {
      throw new DependencyError('secrets', `secrets read refused: ${sessionProblem(check)}`);
    }
    const granted = new Set(
      Object.values(this.options.deployment.profiles[check.session.profile]?.secrets ?? {}),
    );
    for (const ref of secrets) {
      if (!granted.has(ref.secretId)) {
        throw new DependencyError(
          'secrets',
          `secrets read refused: role session ${check.session.assumedRoleArn} may not read secret "${ref.secretId}"`,
        );
      }
    }
    if (secrets.length === 0) return {};
    let values: Record<string, string>;
    try {
      values = parseSecretsFile(await readFile(this.options.file, 'utf8'), this.options.file);
    } catch (err) {
      throw new DependencyError('secrets', 'the local secrets file cannot be read', { cause: err });
    }
    const out: Record<string, string> = {};
    for (const ref of secrets) {
      const value = values[ref.secretId];
      if (value === undefined) {
        throw new DependencyError(
          'secrets',
          `secret "${ref.secretId}" has no value in the local secrets file`,
        );
      }
      out[ref.variable] = value;
    }
    return out;
  }
}
