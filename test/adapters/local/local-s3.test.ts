/**
 * Local mode's S3 server: a real s3rver on a free loopback port with its objects in the given
 * folder, the policy's buckets created, the samples seeded, and nothing listening once closed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { LOCAL_S3_KEY, startLocalS3 } from '../../../lambda/adapters/local/local-s3.ts';
import { parsePolicy } from '../../../lambda/core/policy.ts';

const SEED = join(import.meta.dirname, '../../../local/datasets');
const policy = parsePolicy({
  version: 1,
  profiles: {
    analytics: {
      languages: ['python'],
      datasets: { research: { bucket: 'research-data', prefix: 'curated/' } },
      outputs: { bucket: 'research-out', prefix: 'runs/' },
    },
  },
  principals: [],
});

describe('Local S3 server', () => {
  it('creates the policy’s buckets, seeds the samples byte-exact, and stops listening when closed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-s3-'));
    const s3 = await startLocalS3({ directory: dir, policy, seedDir: SEED, region: 'us-east-1' });
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: s3.endpoint,
      forcePathStyle: true,
      credentials: LOCAL_S3_KEY,
    });
    try {
      expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const buckets = await client.send(new ListBucketsCommand({}));
      expect(buckets.Buckets?.map((b) => b.Name).sort()).toEqual([
        'custody-local-datasets',
        'research-data',
        'research-out',
      ]);
      const object = await client.send(
        new GetObjectCommand({ Bucket: 'custody-local-datasets', Key: 'samples/weather/stations.json' }),
      );
      const bytes = Buffer.from(await object.Body!.transformToByteArray());
      const seed = readFileSync(join(SEED, 'samples/weather/stations.json'));
      expect(createHash('sha256').update(bytes).digest('hex')).toBe(
        createHash('sha256').update(seed).digest('hex'),
      );
    } finally {
      client.destroy();
      await s3.close();
    }
    await expect(fetch(s3.endpoint)).rejects.toThrow();
    rmSync(dir, { recursive: true, force: true });
  });
});
