import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { S3Artifacts } from '../../../lambda/adapters/aws/s3-artifacts.ts';
import { DATASET_DENIED } from '../../../lambda/core/datasets.ts';
import { assumedSession } from './session.ts';

const session = assumedSession('analytics');

describe('S3Artifacts', () => {
  const s3 = mockClient(S3Client);
  const artifacts = new S3Artifacts({ region: 'eu-west-1' });
  afterEach(() => s3.reset());

  it('puts the bytes at the key with a client signed by the assumed session', async () => {
    const signedWith: unknown[] = [];
    s3.on(PutObjectCommand).callsFake(async (_input, getClient) => {
      signedWith.push(await getClient().config.credentials());
      return {};
    });
    const body = Buffer.from('total,3\n');
    await artifacts.put(session, { bucket: 'research-out', key: 'runs/EX1/report.csv' }, body);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: 'research-out',
      Key: 'runs/EX1/report.csv',
      Body: body,
      ContentLength: 8,
    });
    expect(signedWith).toEqual([expect.objectContaining({ accessKeyId: 'ASIASESSIONKEY000001' })]);
  });

  it('maps AccessDenied to 403 DATASET_DENIED', async () => {
    s3.on(PutObjectCommand).rejects(
      Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    );
    await expect(
      artifacts.put(session, { bucket: 'research-out', key: 'elsewhere/x' }, Buffer.from('x')),
    ).rejects.toMatchObject({ httpStatus: 403, code: DATASET_DENIED });
  });
});
