/**
 * SecretsPort on AWS: reads each secret with a Secrets Manager client built FROM the execution's
 * assumed credentials, so the read is allowed only if the profile's role and the session policy
 * allow it, and CloudTrail shows it under the execution's role session.
 */
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DependencyError } from '../../core/errors.ts';
import type { AssumedSession, SecretRef, SecretsPort } from '../../core/ports.ts';

export interface SecretsManagerSecretsOptions {
  readonly region: string;
}

export class SecretsManagerSecrets implements SecretsPort {
  constructor(private readonly options: SecretsManagerSecretsOptions) {}

  /** A client that signs with the session's credentials, never the broker's own. */
  clientFor(session: AssumedSession): SecretsManagerClient {
    const { accessKeyId, secretAccessKey, sessionToken, expiration } = session.credentials;
    return new SecretsManagerClient({
      region: this.options.region,
      credentials: { accessKeyId, secretAccessKey, sessionToken, expiration },
    });
  }

  async read(session: AssumedSession, secrets: readonly SecretRef[]): Promise<Record<string, string>> {
    if (secrets.length === 0) return {};
    const client = this.clientFor(session);
    try {
      const values: Record<string, string> = {};
      for (const { variable, secretId } of secrets) {
        let out: GetSecretValueCommandOutput;
        try {
          out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
        } catch (error) {
          const name = (error as { name?: string }).name ?? 'Error';
          throw new DependencyError(
            'secrets',
            `Secrets Manager could not read the secret for ${variable} (${name}).`,
            {
              cause: error,
            },
          );
        }
        const value =
          out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
        if (value === undefined) {
          throw new DependencyError('secrets', `The secret for ${variable} has no value.`);
        }
        values[variable] = value;
      }
      return values;
    } finally {
      client.destroy();
    }
  }
}
