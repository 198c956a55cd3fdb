/**
 * The local stand-in for IAM in front of a REAL S3-compatible server (s3rver on a free loopback
 * port, objects in a temp dir): a session reads only its profile's dataset prefixes and writes
 * only its outputs prefix. Each case attacks the boundary: another profile's prefix, another
 * bucket, a write where reads are granted, a read where writes are granted, forged credentials.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Artifacts } from '../../../lambda/adapters/aws/s3-artifacts.ts';
import { S3Datasets } from '../../../lambda/adapters/aws/s3-datasets.ts';
import { LocalCredentialsPort } from '../../../lambda/adapters/local/credentials.ts';
import { localDeployment } from '../../../lambda/adapters/local/deployment.ts';
import { LOCAL_S3_KEY, type LocalS3, startLocalS3 } from '../../../lambda/adapters/local/local-s3.ts';
import { ScopedLocalDatasets } from '../../../lambda/adapters/local/scoped-datasets.ts';
import { DATASET_DENIED } from '../../../lambda/core/datasets.ts';
import { DependencyError, NotFoundError } from '../../../lambda/core/errors.ts';
import { parsePolicy } from '../../../lambda/core/policy.ts';
import type { AssumedSession } from '../../../lambda/core/ports.ts';

const policy = parsePolicy({
  version: 1,
  profiles: {
    analytics: {
      languages: ['python'],
      datasets: { research: { bucket: 'research-data', prefix: 'curated/' } },
      outputs: { bucket: 'research-out', prefix: 'runs/' },
    },
    hr: {
      languages: ['python'],
      datasets: { people: { bucket: 'research-data', prefix: 'restricted/' } },
    },
  },
  principals: [
    {
      id: 'agent',
      arn: 'arn:aws:iam::111122223333:role/custody-agent',
      grants: [{ profile: 'analytics' }, { profile: 'hr' }],
    },
  ],
});
const deployment = localDeployment(policy, 'us-east-1');

let dir: string;
let s3: LocalS3;
let admin: S3Client;
let scoped: ScopedLocalDatasets;
let analytics: AssumedSession;

const credentials = new LocalCredentialsPort({ deployment });
const assume = (profile: string) =>
  credentials.assumeRole({
    roleArn: `arn:aws:iam::111122223333:role/custody-exec-${profile}`,
    sessionName: `agent@${profile}`,
    sourceIdentity: 'agent',
    tags: {},
    sessionPolicy: '{}',
    durationSeconds: 900,
  });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custody-s3-'));
  s3 = await startLocalS3({ directory: dir, policy, region: 'us-east-1' });
  admin = new S3Client({
    region: 'us-east-1',
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: LOCAL_S3_KEY,
  });
  for (const key of ['curated/iris.csv', 'curated/sub/a.json', 'restricted/salaries.csv']) {
    await admin.send(new PutObjectCommand({ Bucket: 'research-data', Key: key, Body: `content of ${key}` }));
  }
  await admin.send(new PutObjectCommand({ Bucket: 'research-out', Key: 'runs/OLD/report.csv', Body: 'old' }));
  const options = { region: 'us-east-1', endpoint: s3.endpoint, signWith: () => LOCAL_S3_KEY };
  scoped = new ScopedLocalDatasets({
    policy,
    credentials,
    datasets: new S3Datasets(options),
    artifacts: new S3Artifacts(options),
  });
  analytics = await assume('analytics');
});

afterAll(async () => {
  admin?.destroy();
  await s3?.close();
  rmSync(dir, { recursive: true, force: true });
});

const text = (bytes: Uint8Array) => Buffer.from(bytes).toString();

describe('ScopedLocalDatasets against a real S3-compatible server', () => {
  it("reads and lists the session's own dataset prefix", async () => {
    const read = await scoped.get(analytics, { bucket: 'research-data', key: 'curated/iris.csv' }, 1000);
    expect(text(read.body)).toBe('content of curated/iris.csv');
    expect(read.etag).toMatch(/^"[0-9a-f]{32}"$/);
    const listed = await scoped.list(analytics, { bucket: 'research-data', prefix: 'curated/' }, 10);
    expect(listed.map((o) => o.key)).toEqual(['curated/iris.csv', 'curated/sub/a.json']);
  });

  it.each([
    ['another profile’s prefix in the same bucket', 'research-data', 'restricted/salaries.csv'],
    ['a key beside the prefix sharing its first letters', 'research-data', 'curatedX/iris.csv'],
    ['another bucket', 'research-out', 'runs/OLD/report.csv'],
  ])('refuses a read of %s with 403 DATASET_DENIED', async (_what, bucket, key) => {
    await expect(scoped.get(analytics, { bucket, key }, 1000)).rejects.toMatchObject({
      httpStatus: 403,
      code: DATASET_DENIED,
    });
  });

  it("refuses a listing outside the session's prefixes (403)", async () => {
    await expect(
      scoped.list(analytics, { bucket: 'research-data', prefix: 'restricted/' }, 10),
    ).rejects.toMatchObject({ code: DATASET_DENIED });
    await expect(scoped.list(analytics, { bucket: 'research-data', prefix: '' }, 10)).rejects.toMatchObject({
      code: DATASET_DENIED,
    });
  });

  it('answers 404 naming a missing key inside the grant', async () => {
    const error = await scoped
      .get(analytics, { bucket: 'research-data', key: 'curated/missing.csv' }, 1000)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotFoundError);
    expect((error as Error).message).toContain('s3://research-data/curated/missing.csv');
  });

  it('writes under the outputs prefix only, and never over a dataset', async () => {
    await scoped.put(analytics, { bucket: 'research-out', key: 'runs/EX1/out.txt' }, Buffer.from('result'));
    const stored = await admin.send(
      new GetObjectCommand({ Bucket: 'research-out', Key: 'runs/EX1/out.txt' }),
    );
    expect(await stored.Body?.transformToString()).toBe('result');
    await expect(
      scoped.put(analytics, { bucket: 'research-data', key: 'curated/iris.csv' }, Buffer.from('x')),
    ).rejects.toMatchObject({ code: DATASET_DENIED });
    await expect(
      scoped.put(analytics, { bucket: 'research-out', key: 'elsewhere/x' }, Buffer.from('x')),
    ).rejects.toMatchObject({ code: DATASET_DENIED });
    const unchanged = await admin.send(
      new GetObjectCommand({ Bucket: 'research-data', Key: 'curated/iris.csv' }),
    );
    expect(await unchanged.Body?.transformToString()).toBe('content of curated/iris.csv');
  });

  it('refuses a profile without outputs any write at all', async () => {
    const hr = await assume('hr');
    await expect(
      scoped.put(hr, { bucket: 'research-out', key: 'runs/EX2/x' }, Buffer.from('x')),
    ).rejects.toMatchObject({ code: DATASET_DENIED });
  });

  it('refuses credentials the local STS did not issue (fail closed, nothing read)', async () => {
    const forged: AssumedSession = {
      ...analytics,
      credentials: { ...analytics.credentials, secretAccessKey: 'guessed' },
    };
    await expect(
      scoped.get(forged, { bucket: 'research-data', key: 'curated/iris.csv' }, 1000),
    ).rejects.toBeInstanceOf(DependencyError);
  });
});
