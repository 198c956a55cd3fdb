/**
 * DatasetsPort on AWS: S3 GetObject and ListObjectsV2 with a client built FROM the execution's
 * assumed credentials, so IAM (the role's `bucket/prefix*` grant and the session policy), not this
 * code, decides what may be read, and CloudTrail shows each read under the execution's session.
 * Bodies are read as a stream and refused (413) as soon as they pass the byte budget.
 *
 * Local mode runs this same code against its S3-compatible server (`endpoint`, path-style), with
 * the local adapter's scope check in front (`lambda/adapters/local/scoped-datasets.ts`).
 */
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import {
  type DatasetsPort,
  datasetDenied,
  datasetObjectMissing,
  datasetTooLarge,
  type ListedObject,
  type ReadObject,
  type S3ObjectRef,
} from '../../core/datasets.ts';
import { CustodyError, DependencyError, NotFoundError } from '../../core/errors.ts';
import type { AssumedSession } from '../../core/ports.ts';

export interface S3ClientOptions {
  readonly region: string;
  /** An S3-compatible endpoint (local mode). @default AWS's */
  readonly endpoint?: string;
  /**
   * The keys requests are signed with. @default the session's own: on AWS always. Local mode
   * passes its S3 server's key, having checked the session itself as IAM would.
   */
  readonly signWith?: (session: AssumedSession) => {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/** A client that signs with the session's credentials, never the broker's own. */
export function s3ClientFor(options: S3ClientOptions, session: AssumedSession): S3Client {
  const { accessKeyId, secretAccessKey, sessionToken, expiration } = session.credentials;
  return new S3Client({
    region: options.region,
    credentials: options.signWith
      ? options.signWith(session)
      : { accessKeyId, secretAccessKey, sessionToken, expiration },
    // A dataset's bucket may live in another region: follow S3's redirect to it.
    ...(options.endpoint
      ? { endpoint: options.endpoint, forcePathStyle: true }
      : { followRegionRedirects: true }),
  });
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** S3's error as custody's: denied 403, missing 404, anything else 503 naming S3's error name. */
export function s3Error(error: unknown, what: string, ref?: S3ObjectRef): CustodyError {
  if (error instanceof CustodyError) return error;
  const name = (error as { name?: string }).name ?? 'Error';
  const status = statusOf(error);
  if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) return datasetDenied(what);
  if (name === 'NoSuchKey' || (ref && (name === 'NotFound' || status === 404) && name !== 'NoSuchBucket')) {
    return ref ? datasetObjectMissing(ref) : new NotFoundError(`${what} does not exist`);
  }
  if (name === 'NoSuchBucket') return new NotFoundError(`${what}: the bucket does not exist`);
  return new DependencyError('datasets', `S3 could not serve ${what} (${name}).`, { cause: error });
}

async function readBounded(body: unknown, maxBytes: number, what: string): Promise<Uint8Array> {
  if (body === undefined || body === null) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  const stream = body as AsyncIterable<Uint8Array> & { destroy?: () => void };
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      stream.destroy?.();
      throw datasetTooLarge(what, maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export class S3Datasets implements DatasetsPort {
  constructor(private readonly options: S3ClientOptions) {}

  async list(
    session: AssumedSession,
    location: { readonly bucket: string; readonly prefix: string },
    maxKeys: number,
  ): Promise<ListedObject[]> {
    const what = `s3://${location.bucket}/${location.prefix}`;
    const client = s3ClientFor(this.options, session);
    const found: ListedObject[] = [];
    try {
      let token: string | undefined;
      do {
        const out = await client.send(
          new ListObjectsV2Command({
            Bucket: location.bucket,
            Prefix: location.prefix,
            MaxKeys: Math.min(1000, maxKeys + 1),
            ...(token ? { ContinuationToken: token } : {}),
          }),
        );
        for (const object of out.Contents ?? []) {
          if (object.Key === undefined || object.Key.endsWith('/')) continue;
          found.push({ key: object.Key, bytes: object.Size ?? 0 });
        }
        if (found.length > maxKeys) {
          throw datasetTooLarge(`${what} holds more than ${maxKeys} objects`, maxKeys);
        }
        token = out.IsTruncated ? out.NextContinuationToken : undefined;
      } while (token);
      return found;
    } catch (error) {
      throw s3Error(error, what);
    } finally {
      client.destroy();
    }
  }

  async get(session: AssumedSession, object: S3ObjectRef, maxBytes: number): Promise<ReadObject> {
    const what = `s3://${object.bucket}/${object.key}`;
    const client = s3ClientFor(this.options, session);
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: object.bucket, Key: object.key }));
      if (out.ContentLength !== undefined && out.ContentLength > maxBytes) {
        (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw datasetTooLarge(what, maxBytes);
      }
      const body = await readBounded(out.Body, maxBytes, what);
      return {
        body,
        ...(out.VersionId ? { versionId: out.VersionId } : {}),
        ...(out.ETag ? { etag: out.ETag } : {}),
      };
    } catch (error) {
      throw s3Error(error, what, object);
    } finally {
      client.destroy();
    }
  }
}
