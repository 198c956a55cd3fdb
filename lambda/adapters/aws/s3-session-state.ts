/**
 * SessionStateStore on AWS: one S3 object per session, `sessions/<sessionId>/state`, in the session
 * state bucket (lib/sessions.ts), encrypted with the session key (SSE-KMS).
 *
 * `read` and `write` sign with the CALL's assumed role session, which the broker tagged with the
 * session id (`custody:session-id`); the execution role may get and put only
 * `sessions/${aws:PrincipalTag/custody:session-id}/*`. So IAM, not this code, binds a call to its
 * own session's state: a session id passed here that is not the tagged one is refused by S3.
 * `delete` (end of session) uses the broker's own client, which may delete and nothing else.
 *
 * The execution role has no `s3:ListBucket`, so S3 answers a GET of an object that does not exist
 * with 403, not 404: read only when the session record says state was written (`stateBytes > 0`).
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  type GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { DependencyError } from '../../core/errors.ts';
import type { AssumedSession } from '../../core/ports.ts';
import { SESSION_ID, type SessionStateStore } from '../../core/session.ts';

/** The one object of a session's state. */
function sessionStateKey(sessionId: string): string {
  if (!SESSION_ID.test(sessionId)) throw new Error(`not a session id: ${JSON.stringify(sessionId)}`);
  return `sessions/${sessionId}/state`;
}

export interface S3SessionStateOptions {
  readonly region: string;
  /** The session state bucket. */
  readonly bucket: string;
  /** The account that must own the bucket (ExpectedBucketOwner: a bucket someone else re-created is refused). */
  readonly bucketOwner: string;
  /** The session key (ARN) each object is encrypted with. */
  readonly keyArn: string;
  /** The broker's own client, for `delete` only. */
  readonly brokerClient: S3Client;
}

export class S3SessionState implements SessionStateStore {
  constructor(private readonly options: S3SessionStateOptions) {}

  /** A client that signs with the call's role session, never the broker's own credentials. */
  clientFor(session: AssumedSession): S3Client {
    const { accessKeyId, secretAccessKey, sessionToken, expiration } = session.credentials;
    return new S3Client({
      region: this.options.region,
      credentials: { accessKeyId, secretAccessKey, sessionToken, expiration },
    });
  }

  async read(session: AssumedSession, sessionId: string): Promise<Uint8Array | undefined> {
    const Key = sessionStateKey(sessionId);
    const client = this.clientFor(session);
    try {
      let out: GetObjectCommandOutput;
      try {
        out = await client.send(
          new GetObjectCommand({
            Bucket: this.options.bucket,
            Key,
            ExpectedBucketOwner: this.options.bucketOwner,
          }),
        );
      } catch (error) {
        if (nameOf(error) === 'NoSuchKey') return undefined;
        throw failure(`could not read the state of session ${sessionId}`, error);
      }
      if (out.Body === undefined) throw failure(`returned no body for the state of session ${sessionId}`);
      return await out.Body.transformToByteArray();
    } finally {
      client.destroy();
    }
  }

  async write(session: AssumedSession, sessionId: string, sealed: Uint8Array): Promise<void> {
    const Key = sessionStateKey(sessionId);
    const client = this.clientFor(session);
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key,
          Body: sealed,
          ContentLength: sealed.byteLength,
          ContentType: 'application/octet-stream',
          ServerSideEncryption: 'aws:kms',
          SSEKMSKeyId: this.options.keyArn,
          ExpectedBucketOwner: this.options.bucketOwner,
        }),
      );
    } catch (error) {
      throw failure(`could not write the state of session ${sessionId}`, error);
    } finally {
      client.destroy();
    }
  }

  async delete(sessionId: string): Promise<void> {
    const Key = sessionStateKey(sessionId);
    try {
      // S3 answers 204 whether or not the object existed: ending a session without state is fine.
      await this.options.brokerClient.send(
        new DeleteObjectCommand({
          Bucket: this.options.bucket,
          Key,
          ExpectedBucketOwner: this.options.bucketOwner,
        }),
      );
    } catch (error) {
      throw failure(`could not delete the state of session ${sessionId}`, error);
    }
  }
}

function nameOf(error: unknown): string {
  return (error as { name?: string } | undefined)?.name ?? 'Error';
}

function failure(what: string, cause?: unknown): DependencyError {
  const reason = cause === undefined ? '' : ` (${nameOf(cause)})`;
  return new DependencyError('sessions', `S3 ${what}${reason}.`, cause === undefined ? undefined : { cause });
}
