import { Readable } from 'node:stream';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { S3Datasets, s3ClientFor } from '../../../lambda/adapters/aws/s3-datasets.ts';
import { DATASET_DENIED } from '../../../lambda/core/datasets.ts';
import { DependencyError, NotFoundError, PayloadTooLargeError } from '../../../lambda/core/errors.ts';
import { assumedSession } from './session.ts';

const session = assumedSession('analytics');
const OBJECT = { bucket: 'research-data', key: 'curated/iris.csv' };

function body(...chunks: string[]): never {
  return Readable.from(chunks.map((c) => Buffer.from(c))) as never;
}

function s3Failure(name: string, status: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
}

describe('S3Datasets', () => {
  const s3 = mockClient(S3Client);
  const datasets = new S3Datasets({ region: 'eu-west-1' });
  afterEach(() => s3.reset());

  it('reads an object with a client signed by the assumed session, keeping its version and ETag', async () => {
    const signedWith: unknown[] = [];
    s3.on(GetObjectCommand).callsFake(async (_input, getClient) => {
      signedWith.push(await getClient().config.credentials());
      return { Body: body('a,b\n', '1,2\n'), VersionId: 'v1', ETag: '"abc"', ContentLength: 8 };
    });
    const read = await datasets.get(session, OBJECT, 100);
    expect(Buffer.from(read.body).toString()).toBe('a,b\n1,2\n');
    expect(read).toMatchObject({ versionId: 'v1', etag: '"abc"' });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: 'research-data',
      Key: 'curated/iris.csv',
    });
    expect(signedWith).toEqual([
      expect.objectContaining({
        accessKeyId: 'ASIASESSIONKEY000001',
        secretAccessKey: 'session-secret',
        sessionToken: 'session-token',
      }),
    ]);
  });

  it('builds its client in the configured region, path-style against a local endpoint', async () => {
    expect(await s3ClientFor({ region: 'eu-west-1' }, session).config.region()).toBe('eu-west-1');
    const local = s3ClientFor({ region: 'us-east-1', endpoint: 'http://127.0.0.1:4569' }, session);
    expect(local.config.forcePathStyle).toBe(true);
  });

  it('refuses an object whose stated length passes the budget without reading it (413)', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('x'.repeat(10)), ContentLength: 10 });
    const error = await datasets.get(session, OBJECT, 9).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as Error).message).toMatch(/limit of 9 bytes/);
  });

  it('stops reading a body that passes the budget while streaming (413)', async () => {
    s3.on(GetObjectCommand).resolves({ Body: body('12345', '67890') });
    await expect(datasets.get(session, OBJECT, 7)).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('maps AccessDenied to 403 DATASET_DENIED naming the object', async () => {
    s3.on(GetObjectCommand).rejects(s3Failure('AccessDenied', 403));
    const error = await datasets.get(session, OBJECT, 100).catch((e: unknown) => e);
    expect(error).toMatchObject({ httpStatus: 403, code: DATASET_DENIED });
    expect((error as Error).message).toContain('s3://research-data/curated/iris.csv');
  });

  it('maps NoSuchKey to 404 naming the key', async () => {
    s3.on(GetObjectCommand).rejects(s3Failure('NoSuchKey', 404));
    const error = await datasets.get(session, OBJECT, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toBe(
      'dataset object s3://research-data/curated/iris.csv does not exist',
    );
  });

  it('fails closed with 503 on anything else, naming S3 error', async () => {
    s3.on(GetObjectCommand).rejects(s3Failure('SlowDown', 503));
    const error = await datasets.get(session, OBJECT, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'datasets' });
    expect((error as Error).message).toContain('SlowDown');
  });

  it('lists a prefix page by page, skipping folder markers', async () => {
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [{ Key: 'curated/a.csv', Size: 3 }, { Key: 'curated/sub/' }],
        IsTruncated: true,
        NextContinuationToken: 't1',
      })
      .resolvesOnce({ Contents: [{ Key: 'curated/sub/b.json', Size: 5 }], IsTruncated: false });
    const listed = await datasets.list(session, { bucket: 'research-data', prefix: 'curated/' }, 10);
    expect(listed).toEqual([
      { key: 'curated/a.csv', bytes: 3 },
      { key: 'curated/sub/b.json', bytes: 5 },
    ]);
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 1, {
      Bucket: 'research-data',
      Prefix: 'curated/',
      MaxKeys: 11,
    });
    expect(s3).toHaveReceivedNthCommandWith(ListObjectsV2Command, 2, {
      Bucket: 'research-data',
      Prefix: 'curated/',
      MaxKeys: 11,
      ContinuationToken: 't1',
    });
  });

  it('refuses a listing of more objects than allowed (413), and a denied listing (403)', async () => {
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: 'p/a' }, { Key: 'p/b' }, { Key: 'p/c' }] });
    await expect(datasets.list(session, { bucket: 'b1b', prefix: 'p/' }, 2)).rejects.toBeInstanceOf(
      PayloadTooLargeError,
    );
    s3.on(ListObjectsV2Command).rejects(s3Failure('AccessDenied', 403));
    await expect(datasets.list(session, { bucket: 'b1b', prefix: 'p/' }, 2)).rejects.toMatchObject({
      code: DATASET_DENIED,
    });
  });
});
