/**
 * Local mode's datasets and artifacts: the S3 adapters pointed at the local S3-compatible server,
 * behind the check IAM makes on AWS. The local server accepts any key it knows, so this adapter
 * is the local IAM: the credentials must be a live session the local STS issued (not expired, not
 * revoked), and the session's profile must grant the object:
 *
 * - read (GetObject, ListObjectsV2): only under one of the profile's datasets, `bucket/prefix*`
 *   (the role's `s3:GetObject` on `bucket/prefix*` and `s3:ListBucket` with `s3:prefix` `prefix*`);
 * - write (PutObject): only under the profile's outputs, `bucket/prefix*`; never read, list, delete.
 *
 * Anything else is refused with `403 DATASET_DENIED`, as S3 answers AccessDenied.
 */
import {
  type ArtifactsPort,
  type DatasetsPort,
  datasetDenied,
  type ListedObject,
  type ReadObject,
  type S3ObjectRef,
} from '../../core/datasets.ts';
import { DependencyError } from '../../core/errors.ts';
import type { Policy } from '../../core/policy.ts';
import type { AssumedSession, ExecutionContext } from '../../core/ports.ts';
import { type LocalCredentialsPort, sessionProblem } from './credentials.ts';

export interface ScopedDatasetsOptions {
  readonly policy: Policy;
  readonly credentials: LocalCredentialsPort;
  /** The S3 code against the local server (`S3Datasets` with its endpoint). */
  readonly datasets: DatasetsPort;
  /** The S3 code against the local server (`S3Artifacts` with its endpoint). */
  readonly artifacts: ArtifactsPort;
}

type Access = 'read' | 'list' | 'write';

export class ScopedLocalDatasets implements DatasetsPort, ArtifactsPort {
  constructor(private readonly options: ScopedDatasetsOptions) {}

  /** Throws unless the session is live and its profile grants `access` to `bucket/key`. */
  private async authorize(
    session: AssumedSession,
    access: Access,
    object: S3ObjectRef,
    context?: ExecutionContext,
  ): Promise<void> {
    const check = await this.options.credentials.authorize(session.credentials, context);
    if (!check.ok) throw new DependencyError('datasets', `S3 request refused: ${sessionProblem(check)}`);
    const profile = Object.hasOwn(this.options.policy.profiles, check.session.profile)
      ? this.options.policy.profiles[check.session.profile]
      : undefined;
    const scopes =
      access === 'write'
        ? profile?.outputs
          ? [profile.outputs]
          : []
        : Object.values(profile?.datasets ?? {});
    const allowed = scopes.some((s) => s.bucket === object.bucket && object.key.startsWith(s.prefix));
    if (!allowed) {
      throw datasetDenied(
        `${access} s3://${object.bucket}/${object.key} by role session ${check.session.assumedRoleArn}`,
      );
    }
  }

  async list(
    session: AssumedSession,
    location: { readonly bucket: string; readonly prefix: string },
    maxKeys: number,
    context?: ExecutionContext,
  ): Promise<ListedObject[]> {
    await this.authorize(session, 'list', { bucket: location.bucket, key: location.prefix }, context);
    return this.options.datasets.list(session, location, maxKeys, context);
  }

  async get(
    session: AssumedSession,
    object: S3ObjectRef,
    maxBytes: number,
    context?: ExecutionContext,
  ): Promise<ReadObject> {
    await this.authorize(session, 'read', object, context);
    return this.options.datasets.get(session, object, maxBytes, context);
  }

  async put(
    session: AssumedSession,
    object: S3ObjectRef,
    body: Uint8Array,
    context?: ExecutionContext,
  ): Promise<void> {
    await this.authorize(session, 'write', object, context);
    return this.options.artifacts.put(session, object, body, context);
  }
}
