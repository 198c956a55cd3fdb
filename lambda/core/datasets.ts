/**
 * Data in and out (#16): read-only datasets and write-only artifacts, both reached WITH the call's
 * assumed role session, so IAM (locally: the local adapter standing in for it) enforces the scope.
 *
 * - `DatasetsPort`  S3 GetObject / ListObjectsV2 (AWS), or the same S3 code against the local
 *                   S3-compatible server behind the scope check IAM would make (local)
 * - `ArtifactsPort` S3 PutObject at `outputs.prefix/<executionId>/<path>`; never read, list or delete
 *
 * Adapters throw the typed errors below, so the broker answers 403 / 404 / 413 / 503 from them:
 * S3 AccessDenied -> `DATASET_DENIED` (403), NoSuchKey -> 404 naming the key, an object past the
 * byte budget -> 413 naming the limit, anything else -> DependencyError('datasets') (503).
 */
import { z } from 'zod';
import { DeniedError, NotFoundError, PayloadTooLargeError } from './errors.ts';
import type { AssumedSession, ExecutionContext } from './ports.ts';

export type { ArtifactRecord, DatasetObjectRecord } from './audit-record.ts';

/** The reason code of a dataset read the grant does not cover (403). */
export const DATASET_DENIED = 'DATASET_DENIED';
/** Bytes one call may read from all its datasets together: the executor payload is 6 MB. */
export const MAX_DATASET_BYTES_PER_CALL = 4 * 1024 * 1024;
/** Objects one call may read from all its datasets together. */
export const MAX_DATASET_OBJECTS_PER_CALL = 256;
/** Keys (or sub-prefixes) one request may name per dataset. */
const MAX_DATASET_KEYS = 64;

/**
 * A key relative to the dataset's prefix: segments of `[A-Za-z0-9!_.*'()=+,@-]`, no `.` or `..`
 * segment, no leading `/`; a trailing `/` names everything under that sub-prefix.
 */
const DATASET_KEY = /^(?!.*(?:^|\/)\.\.?(?:\/|$))[A-Za-z0-9!_.*'()=+,@-]+(?:\/[A-Za-z0-9!_.*'()=+,@-]+)*\/?$/;

/** The request's `datasets` field: dataset name -> keys and sub-prefixes, relative to its prefix. */
export const datasetSelectionSchema = z
  .record(
    z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'dataset names are lower-case [a-z0-9_-]'),
    z
      .array(
        z
          .string()
          .max(512)
          .regex(
            DATASET_KEY,
            'must be a key relative to the dataset prefix, without ".." (a trailing "/" reads a sub-prefix)',
          ),
      )
      .min(1, 'name at least one key')
      .max(MAX_DATASET_KEYS),
  )
  .refine((s) => Object.keys(s).length <= 16, 'at most 16 datasets');

export type DatasetSelection = z.output<typeof datasetSelectionSchema>;

/** Where an object is. */
export interface S3ObjectRef {
  readonly bucket: string;
  readonly key: string;
}

/** An object a listing found. */
export interface ListedObject {
  readonly key: string;
  readonly bytes: number;
}

/** An object read: its bytes and the version S3 served. */
export interface ReadObject {
  readonly body: Uint8Array;
  readonly versionId?: string;
  readonly etag?: string;
}

/** S3 reads WITH the call's session. Throws the errors below, or DependencyError('datasets'). */
export interface DatasetsPort {
  /** Objects under `prefix` in `bucket`, at most `maxKeys` (more: 413). */
  list(
    session: AssumedSession,
    location: { readonly bucket: string; readonly prefix: string },
    maxKeys: number,
    context?: ExecutionContext,
  ): Promise<ListedObject[]>;
  /** One object, refused with 413 once its body passes `maxBytes` (read no further). */
  get(
    session: AssumedSession,
    object: S3ObjectRef,
    maxBytes: number,
    context?: ExecutionContext,
  ): Promise<ReadObject>;
}

/** S3 PutObject WITH the call's session, under the profile's outputs prefix only. */
export interface ArtifactsPort {
  put(
    session: AssumedSession,
    object: S3ObjectRef,
    body: Uint8Array,
    context?: ExecutionContext,
  ): Promise<void>;
}

/** 403: the session may not read (or write) this object. */
export function datasetDenied(what: string): DeniedError {
  return new DeniedError(DATASET_DENIED, `${what}: access denied to the execution role`);
}

/** 404 naming the object. */
export function datasetObjectMissing(ref: S3ObjectRef): NotFoundError {
  return new NotFoundError(`dataset object s3://${ref.bucket}/${ref.key} does not exist`);
}

/** 413 naming the limit. */
export function datasetTooLarge(what: string, maxBytes: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`${what}: the datasets of this call exceed the limit of ${maxBytes} bytes`);
}
