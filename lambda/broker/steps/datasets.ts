/**
 * Datasets (#16), between assume and execute: the objects the request names, read WITH the call's
 * role session (IAM, not this code, enforces `bucket/prefix*`), bounded by each dataset's
 * `maxBytes` and by `MAX_DATASET_BYTES_PER_CALL` in all, hashed for the audit record and handed to
 * the sandbox as name -> key -> base64 (read-only at `/data/<name>/<key>`).
 *
 * `checkDatasets` runs before anything is recorded as started: a dataset name the profile does not
 * declare is refused (`403 DATASET_DENIED`) like any other denial.
 */
import { sha256Hex } from '../../core/canonical-json.ts';
import {
  type DatasetObjectRecord,
  type DatasetSelection,
  type DatasetsPort,
  datasetDenied,
  datasetTooLarge,
  MAX_DATASET_BYTES_PER_CALL,
  MAX_DATASET_OBJECTS_PER_CALL,
} from '../../core/datasets.ts';
import {
  type CustodyError,
  DependencyError,
  PayloadTooLargeError,
  ValidationError,
} from '../../core/errors.ts';
import { fileMap, unsafeFileNameReason } from '../../core/file-map.ts';
import type { Profile } from '../../core/policy.ts';
import type { AssumedSession, ExecutionContext } from '../../core/ports.ts';

/** What the sandbox receives and the audit record keeps. */
export interface DatasetsRead {
  readonly files: Record<string, Record<string, string>>;
  readonly records: readonly DatasetObjectRecord[];
}

/** The refusal of a selection naming a dataset the profile does not declare, or undefined. */
export function checkDatasets(
  profileName: string,
  profile: Profile,
  selection: DatasetSelection | undefined,
): CustodyError | undefined {
  for (const name of Object.keys(selection ?? {})) {
    if (!Object.hasOwn(profile.datasets, name)) {
      return datasetDenied(`dataset "${name}" is not granted to profile "${profileName}"`);
    }
  }
  return undefined;
}

/** Reads the selection. Throws a CustodyError (403/404/413/400) or DependencyError('datasets'). */
export async function readDatasets(
  port: DatasetsPort | undefined,
  session: AssumedSession,
  profile: Profile,
  selection: DatasetSelection | undefined,
  context?: ExecutionContext,
): Promise<DatasetsRead | undefined> {
  if (!selection || Object.keys(selection).length === 0) return undefined;
  if (!port) throw new DependencyError('datasets', 'This deployment has no datasets adapter.');
  const files = Object.create(null) as Record<string, Record<string, string>>;
  const records: DatasetObjectRecord[] = [];
  let callBytes = 0;
  for (const [name, keys] of Object.entries(selection)) {
    const dataset = profile.datasets[name];
    if (!dataset) throw datasetDenied(`dataset "${name}"`);
    const { bucket, prefix, maxBytes } = dataset;
    let datasetBytes = 0;
    const wanted = new Set<string>();
    for (const key of keys) {
      if (!key.endsWith('/')) {
        wanted.add(prefix + key);
        continue;
      }
      const room = MAX_DATASET_OBJECTS_PER_CALL - records.length - wanted.size;
      const listed = await port.list(session, { bucket, prefix: prefix + key }, Math.max(room, 0), context);
      for (const object of listed) wanted.add(object.key);
    }
    if (records.length + wanted.size > MAX_DATASET_OBJECTS_PER_CALL) {
      throw new PayloadTooLargeError(
        `datasets: more than ${MAX_DATASET_OBJECTS_PER_CALL} objects in one call`,
      );
    }
    const objects = fileMap<string>();
    for (const key of wanted) {
      const relative = key.slice(prefix.length);
      const problem = unsafeFileNameReason(relative);
      if (problem) {
        throw new ValidationError(`datasets["${name}"]: object key ${JSON.stringify(relative)} ${problem}`);
      }
      const datasetRoom = maxBytes - datasetBytes;
      const callRoom = MAX_DATASET_BYTES_PER_CALL - callBytes;
      let read: Awaited<ReturnType<DatasetsPort['get']>>;
      try {
        read = await port.get(session, { bucket, key }, Math.min(datasetRoom, callRoom), context);
      } catch (error) {
        if (!(error instanceof PayloadTooLargeError)) throw error;
        throw datasetRoom <= callRoom
          ? datasetTooLarge(`dataset "${name}" (maxBytes)`, maxBytes)
          : datasetTooLarge('datasets (per call)', MAX_DATASET_BYTES_PER_CALL);
      }
      const bytes = read.body.byteLength;
      datasetBytes += bytes;
      callBytes += bytes;
      objects[relative] = Buffer.from(read.body).toString('base64');
      records.push({
        dataset: name,
        bucket,
        key,
        ...(read.versionId ? { versionId: read.versionId } : {}),
        ...(read.etag ? { etag: read.etag } : {}),
        bytes,
        sha256: sha256Hex(read.body),
      });
    }
    files[name] = objects;
  }
  return { files, records };
}
