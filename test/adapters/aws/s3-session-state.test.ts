import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { S3SessionState } from '../../../lambda/adapters/aws/s3-session-state.ts';
import { DependencyError } from '../../../lambda/core/errors.ts';
import { assumedSession } from './session.ts';

const BUCKET = 'custody-sessionstate-abc123';
const OWNER = '111122223333';
const KEY_ARN = 'arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
const SESSION = 'ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B';
const session = assumedSession('reports');

function s3Error(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });
}

/** A response body as the SDK hands it out (only the method the adapter uses). */
function body(bytes: Uint8Array): GetObjectCommandOutput['Body'] {
  return { transformToByteArray: async () => bytes } as unknown as GetObjectCommandOutput['Body'];
}

describe('S3SessionState', () => {
  const s3 = mockClient(S3Client);
  afterEach(() => s3.reset());
  const brokerClient = new S3Client({ region: 'eu-west-1' });
  const store = new S3SessionState({
    region: 'eu-west-1',
    bucket: BUCKET,
    bucketOwner: OWNER,
    keyArn: KEY_ARN,
    brokerClient,
  });

  it('writes the sealed state to sessions/<id>/state, SSE-KMS under the session key, signed by the call’s session', async () => {
    const signedWith: unknown[] = [];
    s3.on(PutObjectCommand).callsFake(async (_input, getClient) => {
      signedWith.push(await getClient().config.credentials());
      return {};
    });
    const sealed = new Uint8Array([1, 2, 3, 250]);
    await store.write(session, SESSION, sealed);
    expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: `sessions/${SESSION}/state`,
      Body: sealed,
      ContentLength: 4,
      ContentType: 'application/octet-stream',
      ServerSideEncryption: 'aws:kms',
      SSEKMSKeyId: KEY_ARN,
      ExpectedBucketOwner: OWNER,
    });
    expect(signedWith).toEqual([
      expect.objectContaining({
        accessKeyId: 'ASIASESSIONKEY000001',
        secretAccessKey: 'session-secret',
        sessionToken: 'session-token',
      }),
    ]);
  });

  it('reads the state back with the call’s session, byte for byte', async () => {
    const bytes = new Uint8Array([0, 255, 7, 42]);
    const signedWith: unknown[] = [];
    s3.on(GetObjectCommand).callsFake(async (_input, getClient) => {
      signedWith.push(await getClient().config.credentials());
      return { Body: body(bytes) };
    });
    expect(await store.read(session, SESSION)).toEqual(bytes);
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, {
      Bucket: BUCKET,
      Key: `sessions/${SESSION}/state`,
      ExpectedBucketOwner: OWNER,
    });
    expect(signedWith).toEqual([expect.objectContaining({ accessKeyId: 'ASIASESSIONKEY000001' })]);
  });

  it('builds its per-call client in the configured region', async () => {
    expect(await store.clientFor(session).config.region()).toBe('eu-west-1');
  });

  it('reads a missing object as no state', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('NoSuchKey', 404));
    expect(await store.read(session, SESSION)).toBeUndefined();
  });

  it('fails closed when the role session may not read the object (another session’s, or none yet)', async () => {
    s3.on(GetObjectCommand).rejects(s3Error('AccessDenied', 403));
    const error = await store.read(session, SESSION).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'sessions' });
    expect((error as Error).message).toBe(
      `S3 could not read the state of session ${SESSION} (AccessDenied).`,
    );
  });

  it('fails closed when an object has no body', async () => {
    s3.on(GetObjectCommand).resolves({});
    await expect(store.read(session, SESSION)).rejects.toThrow(
      `S3 returned no body for the state of session ${SESSION}.`,
    );
  });

  it('fails closed when the write is refused, and says so', async () => {
    s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(store.write(session, SESSION, new Uint8Array([1]))).rejects.toThrow(
      `S3 could not write the state of session ${SESSION} (AccessDenied).`,
    );
  });

  it('deletes the state with the broker’s own client at the end of the session', async () => {
    const signedBy: unknown[] = [];
    s3.on(DeleteObjectCommand).callsFake(async (_input, getClient) => {
      signedBy.push(getClient());
      return {};
    });
    await store.delete(SESSION);
    expect(s3).toHaveReceivedCommandWith(DeleteObjectCommand, {
      Bucket: BUCKET,
      Key: `sessions/${SESSION}/state`,
      ExpectedBucketOwner: OWNER,
    });
    expect(signedBy).toEqual([brokerClient]);
  });

  it('fails closed when the delete is refused', async () => {
    s3.on(DeleteObjectCommand).rejects(s3Error('AccessDenied', 403));
    await expect(store.delete(SESSION)).rejects.toThrow(
      `S3 could not delete the state of session ${SESSION} (AccessDenied).`,
    );
  });

  it('refuses anything but a session id as part of a key, before calling S3', async () => {
    for (const bad of ['ses_x/../ses_01JD8X3M7Q9V2K4T6W8Y0Z1A2B', '', 'sessions', `${SESSION}/`]) {
      await expect(store.read(session, bad)).rejects.toThrow(/not a session id/);
      await expect(store.write(session, bad, new Uint8Array([1]))).rejects.toThrow(/not a session id/);
      await expect(store.delete(bad)).rejects.toThrow(/not a session id/);
    }
    expect(s3.calls()).toHaveLength(0);
  });
});
