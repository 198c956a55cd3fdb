/**
 * ArtifactsPort on AWS: S3 PutObject with a client built FROM the execution's assumed credentials.
 * The role may only put under the profile's outputs prefix (never read, list or delete), so an
 * artifact, once written, is out of the code's reach. Local mode runs the same code against its
 * S3-compatible server, behind the local scope check.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { ArtifactsPort, S3ObjectRef } from '../../core/datasets.ts';
import type { AssumedSession } from '../../core/ports.ts';
import { type S3ClientOptions, s3ClientFor, s3Error } from './s3-datasets.ts';

export class S3Artifacts implements ArtifactsPort {
  constructor(private readonly options: S3ClientOptions) {}

  async put(session: AssumedSession, object: S3ObjectRef, body: Uint8Array): Promise<void> {
    const client = s3ClientFor(this.options, session);
    try {
      await client.send(
        new PutObjectCommand({
          Bucket: object.bucket,
          Key: object.key,
          Body: body,
          ContentLength: body.byteLength,
        }),
      );
    } catch (error) {
      throw s3Error(error, `s3://${object.bucket}/${object.key}`);
    } finally {
      client.destroy();
    }
  }
}
