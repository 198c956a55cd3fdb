/**
 * The datasets step's own rules, over an in-memory S3 (the real server's behaviour is proven in
 * test/e2e/datasets.test.ts and test/adapters/local/scoped-datasets.test.ts): sub-prefixes
 * expand, keys are deduplicated, budgets are per dataset and per call and named when passed, an
 * object key that cannot be a path is refused, and an undeclared dataset is denied.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkDatasets, readDatasets } from '../../../lambda/broker/steps/datasets.ts';
import {
  type DatasetsPort,
  datasetObjectMissing,
  datasetTooLarge,
  MAX_DATASET_BYTES_PER_CALL,
} from '../../../lambda/core/datasets.ts';
import { parsePolicy } from '../../../lambda/core/policy.ts';
import type { AssumedSession } from '../../../lambda/core/ports.ts';

/** An S3 of one bucket in memory, with S3's semantics for the two calls the step makes. */
function memoryS3(objects: Record<string, Buffer>): DatasetsPort & { gets: string[] } {
  const gets: string[] = [];
  return {
    gets,
    async list(_session, { prefix }, maxKeys) {
      const keys = Object.keys(objects)
        .filter((k) => k.startsWith(prefix))
        .sort();
      if (keys.length > maxKeys) throw datasetTooLarge('listing', maxKeys);
      return keys.map((key) => ({ key, bytes: objects[key]!.length }));
    },
    async get(_session, ref, maxBytes) {
      gets.push(ref.key);
      const body = objects[ref.key];
      if (!body) throw datasetObjectMissing(ref);
      if (body.length > maxBytes) throw datasetTooLarge(ref.key, maxBytes);
      return { body, etag: `"${ref.key.length}"` };
    },
  };
}

const profile = parsePolicy({
  version: 1,
  profiles: {
    pp: {
      languages: ['python'],
      datasets: {
        docs: { bucket: 'b-data', prefix: 'docs/', maxBytes: 10 },
        big: { bucket: 'b-data', prefix: 'big/' },
      },
    },
  },
  principals: [],
}).profiles.pp!;
const session = {} as AssumedSession;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Datasets step', () => {
  it('reads keys and sub-prefixes once each, as name -> key -> base64, with each object’s sha256', async () => {
    const s3 = memoryS3({ 'docs/a.txt': Buffer.from('aaa'), 'docs/sub/b.txt': Buffer.from('bb') });
    const read = await readDatasets(s3, session, profile, { docs: ['a.txt', 'sub/', 'sub/b.txt'] });
    expect(read?.files.docs).toEqual({ 'a.txt': 'YWFh', 'sub/b.txt': 'YmI=' });
    expect(s3.gets).toEqual(['docs/a.txt', 'docs/sub/b.txt']);
    expect(read?.records).toEqual([
      {
        dataset: 'docs',
        bucket: 'b-data',
        key: 'docs/a.txt',
        etag: '"10"',
        bytes: 3,
        sha256: sha256(Buffer.from('aaa')),
      },
      {
        dataset: 'docs',
        bucket: 'b-data',
        key: 'docs/sub/b.txt',
        etag: '"14"',
        bytes: 2,
        sha256: sha256(Buffer.from('bb')),
      },
    ]);
  });

  it("refuses more than the dataset's maxBytes across its objects, naming the dataset and limit (413)", async () => {
    const s3 = memoryS3({ 'docs/a.txt': Buffer.alloc(6), 'docs/b.txt': Buffer.alloc(6) });
    const error = await readDatasets(s3, session, profile, { docs: ['a.txt', 'b.txt'] }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ httpStatus: 413 });
    expect((error as Error).message).toBe(
      'dataset "docs" (maxBytes): the datasets of this call exceed the limit of 10 bytes',
    );
  });

  it('refuses more than 4 MiB per call across datasets, naming that limit (413)', async () => {
    const half = MAX_DATASET_BYTES_PER_CALL / 2 + 1;
    const s3 = memoryS3({ 'big/1': Buffer.alloc(half), 'big/2': Buffer.alloc(half) });
    const big = {
      ...profile,
      datasets: { ...profile.datasets, more: { bucket: 'b-data', prefix: 'big/', maxBytes: 4_194_304 } },
    };
    const error = await readDatasets(s3, session, big, { big: ['1'], more: ['2'] }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/datasets \(per call\).*limit of 4194304 bytes/);
  });

  it('refuses an object key that cannot be a path in the sandbox (400), reading nothing of it', async () => {
    const s3 = memoryS3({ 'docs/x/../escape': Buffer.from('x') });
    const error = await readDatasets(s3, session, profile, { docs: ['x/'] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ httpStatus: 400 });
    expect(s3.gets).toEqual([]);
  });

  it('passes a missing key on as the 404 naming it', async () => {
    const error = await readDatasets(memoryS3({}), session, profile, { docs: ['gone.csv'] }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({
      httpStatus: 404,
      message: 'dataset object s3://b-data/docs/gone.csv does not exist',
    });
  });

  it('denies a dataset the profile does not declare, and reads nothing without a selection', async () => {
    expect(checkDatasets('p', profile, { docs: ['a'] })).toBeUndefined();
    expect(checkDatasets('p', profile, { hr: ['a'] })).toMatchObject({
      httpStatus: 403,
      code: 'DATASET_DENIED',
    });
    expect(checkDatasets('p', profile, { constructor: ['a'] } as never)).toMatchObject({
      code: 'DATASET_DENIED',
    });
    expect(await readDatasets(undefined, session, profile, undefined)).toBeUndefined();
  });
});
