import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { SecretsManagerSecrets } from '../../../lambda/adapters/aws/secrets-manager-secrets.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';
import { assumedSession } from './session.ts';

const TOKEN_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:custody/reports/api-token-AbCdEf';
const DB_ARN = 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:custody/reports/db-XyZ123';
const session = assumedSession('reports');
const refs = [
  { variable: 'REPORT_API_TOKEN', secretId: TOKEN_ARN },
  { variable: 'DB_PASSWORD', secretId: DB_ARN },
];

describe('SecretsManagerSecrets', () => {
  const sm = mockClient(SecretsManagerClient);
  const secrets = new SecretsManagerSecrets({ region: 'eu-west-1' });
  afterEach(() => sm.reset());

  it('reads each secret with a client signed by the assumed session', async () => {
    const signedWith: unknown[] = [];
    sm.on(GetSecretValueCommand).callsFake(async (input: { SecretId: string }, getClient) => {
      signedWith.push(await getClient().config.credentials());
      return input.SecretId === TOKEN_ARN ? { SecretString: 'tok' } : { SecretBinary: Buffer.from('pw') };
    });
    expect(await secrets.read(session, refs)).toEqual({ REPORT_API_TOKEN: 'tok', DB_PASSWORD: 'pw' });
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: TOKEN_ARN });
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: DB_ARN });
    expect(signedWith).toHaveLength(2);
    for (const credentials of signedWith) {
      expect(credentials).toMatchObject({
        accessKeyId: 'ASIASESSIONKEY000001',
        secretAccessKey: 'session-secret',
        sessionToken: 'session-token',
      });
    }
  });

  it('builds its client in the configured region', async () => {
    expect(await secrets.clientFor(session).config.region()).toBe('eu-west-1');
  });

  it('makes no call when the profile has no secrets', async () => {
    expect(await secrets.read(session, [])).toEqual({});
    expect(sm).not.toHaveReceivedCommand(GetSecretValueCommand);
  });

  it('fails closed naming the variable when the session may not read a secret', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('denied'), { name: 'AccessDeniedException' }),
    );
    const error = await secrets.read(session, refs).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'secrets' });
    expect((error as Error).message).toBe(
      'Secrets Manager could not read the secret for REPORT_API_TOKEN (AccessDeniedException).',
    );
  });

  it('fails closed when a secret has no value', async () => {
    sm.on(GetSecretValueCommand).resolves({});
    await expect(secrets.read(session, refs)).rejects.toThrow(
      'The secret for REPORT_API_TOKEN has no value.',
    );
  });
});
