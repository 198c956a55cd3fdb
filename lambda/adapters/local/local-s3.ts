/**
 * Local mode's S3: a real S3-compatible server (s3rver) on loopback, its objects under the data
 * directory (`.custody/s3`), with every bucket the policy names, and the repository's sample
 * datasets (`local/datasets/<folder>/...`) copied into `custody-local-datasets` at
 * `<folder>/...` on each start. The S3 adapters talk to it (`s3Endpoint` in `.custody/local.json`);
 * the local scope check (`scoped-datasets.ts`) stands in for IAM in front of them.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { join, relative, sep } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Policy } from '../../core/policy.ts';

/** The bucket the sample datasets are seeded into. */
const LOCAL_DATASETS_BUCKET = 'custody-local-datasets';
/**
 * The local server's own key (s3rver's built-in account). Requests to it are signed with this key
 * after the local scope check has authorised the call's session: the server checks no policy.
 */
export const LOCAL_S3_KEY = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
  httpServer?: Server;
}
// s3rver ships no types.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string }[];
}) => S3rverInstance;

export interface LocalS3Options {
  /** Where the objects are kept. */
  readonly directory: string;
  /** The policy whose dataset and outputs buckets are created. */
  readonly policy: Policy;
  /** Folder of sample datasets to copy in (absent: nothing copied). */
  readonly seedDir?: string;
  readonly region: string;
}

export interface LocalS3 {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  close(): Promise<void>;
}

/** Every bucket the policy names, and the samples' bucket. */
function bucketsOf(policy: Policy): string[] {
  const names = new Set<string>([LOCAL_DATASETS_BUCKET]);
  for (const profile of Object.values(policy.profiles)) {
    for (const dataset of Object.values(profile.datasets)) names.add(dataset.bucket);
    if (profile.outputs) names.add(profile.outputs.bucket);
  }
  return [...names];
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function startLocalS3(options: LocalS3Options): Promise<LocalS3> {
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory: options.directory,
    configureBuckets: bucketsOf(options.policy).map((name) => ({ name })),
  });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  const close = async () => {
    server.httpServer?.closeAllConnections();
    await server.close();
  };
  try {
    if (options.seedDir && statSync(options.seedDir, { throwIfNoEntry: false })?.isDirectory()) {
      const client = new S3Client({
        region: options.region,
        endpoint,
        forcePathStyle: true,
        credentials: LOCAL_S3_KEY,
      });
      try {
        for (const file of filesUnder(options.seedDir)) {
          const key = relative(options.seedDir, file).split(sep).join('/');
          await client.send(
            new PutObjectCommand({ Bucket: LOCAL_DATASETS_BUCKET, Key: key, Body: readFileSync(file) }),
          );
        }
      } finally {
        client.destroy();
      }
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { endpoint, close };
}
