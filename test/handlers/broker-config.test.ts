import { GenerateDataKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { BROKER_ENV } from '../../lambda/core/env-names.ts';
import {
  BrokerConfigError,
  readSessionConfig,
  sessionAdapters,
} from '../../lambda/handlers/broker-config.ts';
import { assumedSession } from '../adapters/aws/session.ts';

const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SESSION = 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B';
const env = {
  AWS_REGION: 'eu-west-1',
  [BROKER_ENV.account]: '111122223333',
  [BROKER_ENV.sessionTable]: 'Custody-SessionTable-1',
  [BROKER_ENV.sessionBucket]: 'custody-sessionstate-1',
  [BROKER_ENV.sessionKeyArn]: KEY_ARN,
};

describe('The broker’s session configuration', () => {
  const s3 = mockClient(S3Client);
  const kms = mockClient(KMSClient);
  afterEach(() => {
    s3.reset();
    kms.reset();
  });

  it('reads the table, bucket, key, account and region the stack sets', () => {
    expect(readSessionConfig(env)).toEqual({
      table: 'Custody-SessionTable-1',
      bucket: 'custody-sessionstate-1',
      keyArn: KEY_ARN,
      account: '111122223333',
      region: 'eu-west-1',
    });
  });

  it('names every missing variable at once', () => {
    expect(() => readSessionConfig({ AWS_REGION: 'eu-west-1', [BROKER_ENV.sessionTable]: ' ' })).toThrow(
      new BrokerConfigError(
        'Broker session configuration invalid: CUSTODY_SESSION_TABLE is not set; CUSTODY_SESSION_BUCKET is not set; ' +
          'CUSTODY_SESSION_KEY_ARN is not set; CUSTODY_ACCOUNT is not set',
      ),
    );
  });

  it('refuses a key id or alias where the key ARN belongs', () => {
    expect(() => readSessionConfig({ ...env, [BROKER_ENV.sessionKeyArn]: 'alias/custody-sessions' })).toThrow(
      'CUSTODY_SESSION_KEY_ARN is not a KMS key ARN: alias/custody-sessions',
    );
  });

  it('builds a state store on the bucket and key of the environment', async () => {
    s3.on(PutObjectCommand).resolves({});
    s3.on(DeleteObjectCommand).resolves({});
    const { state } = sessionAdapters(readSessionConfig(env));
    await state.write(assumedSession('sandbox'), SESSION, new Uint8Array([1]));
    await state.delete(SESSION);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'custody-sessionstate-1',
      Key: `sessions/${SESSION}/state`,
      SSEKMSKeyId: KEY_ARN,
      ExpectedBucketOwner: '111122223333',
    });
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: 'custody-sessionstate-1',
      Key: `sessions/${SESSION}/state`,
      ExpectedBucketOwner: '111122223333',
    });
  });

  it('builds a key vault on the session key of the environment', async () => {
    kms
      .on(GenerateDataKeyCommand)
      .resolves({ Plaintext: new Uint8Array(32), CiphertextBlob: new Uint8Array(4) });
    const { vault } = sessionAdapters(readSessionConfig(env));
    await vault.newKey({ sessionId: SESSION, principalId: 'agent' });
    expect(kms).toHaveReceivedCommandWith(GenerateDataKeyCommand, { KeyId: KEY_ARN, KeySpec: 'AES_256' });
  });
});
