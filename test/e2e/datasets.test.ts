/**
 * #16 end to end in local mode: the local server's real S3-compatible server (s3rver on a free
 * loopback port, under a temporary CUSTODY_HOME) seeded with the repository's sample datasets;
 * signed requests name dataset keys; the sandboxes read them; the audit record carries each
 * object's sha256; refusals are 403/404/413 with a `denied` record; artifacts land in S3.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_S3_KEY } from '../../lambda/adapters/local/local-s3.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { ROOT, sdkSigned, startTestServer, type TestServer } from './support.ts';

const SEED = join(ROOT, 'local/datasets');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
const seedFile = (key: string) => readFileSync(join(SEED, key));

let t: TestServer;
let policyDir: string;

beforeAll(async () => {
  const policy = JSON.parse(readFileSync(join(ROOT, 'custody.policy.json'), 'utf8'));
  policy.profiles.sandbox.datasets.tiny = {
    bucket: 'custody-local-datasets',
    prefix: 'samples/',
    maxBytes: 64,
  };
  policy.profiles.sandbox.outputs = { bucket: 'custody-local-artifacts', prefix: 'runs/' };
  policyDir = mkdtempSync(join(tmpdir(), 'custody-datasets-policy-'));
  const policyFile = join(policyDir, 'custody.policy.json');
  writeFileSync(policyFile, JSON.stringify(policy));
  t = await startTestServer({ policyFile, datasetsSeedDir: SEED });
});
afterAll(async () => {
  await t?.stop();
  if (policyDir) rmSync(policyDir, { recursive: true, force: true });
});

/** The fields of an answer (200) or a refusal (4xx) these cases read. */
interface Answer {
  readonly executionId: string;
  readonly stdout: string;
  readonly artifacts?: unknown;
  readonly error: { readonly code: string; readonly message: string; readonly executionId: string };
}

async function execute(body: object): Promise<{ status: number; json: Answer }> {
  const response = await sdkSigned({
    identity: t.identity('agent'),
    url: `${t.server.url}/v1/executions`,
    body: JSON.stringify({ profile: 'sandbox', ...body }),
  });
  return { status: response.status, json: JSON.parse(response.body) };
}

async function lastRecord(executionId: string): Promise<AuditRecord | undefined> {
  return (await t.server.auditStore.get(executionId)).at(-1);
}

describe('Datasets in local mode', () => {
  it('writes the local S3 endpoint into local.json', () => {
    const info = JSON.parse(readFileSync(t.server.paths.localJson, 'utf8'));
    expect(info.s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('lets Python read the samples at /data/samples/<key> (a key and a sub-prefix), read-only, and audits each object with its sha256', async () => {
    const code = [
      'import csv, json, os',
      "rows = list(csv.DictReader(open('/data/samples/iris.csv')))",
      "stations = json.load(open('/data/samples/weather/stations.json'))",
      'try:',
      "    open('/data/samples/iris.csv', 'w').write('changed')",
      "    wrote = 'wrote'",
      'except OSError:',
      "    wrote = 'refused'",
      "print(len(rows), len(stations['stations']), sorted(os.listdir('/data/samples/weather')), wrote)",
    ].join('\n');
    const { status, json } = await execute({
      language: 'python',
      code,
      datasets: { samples: ['iris.csv', 'weather/'] },
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'succeeded' });
    expect(json.stdout).toBe("15 3 ['readings.csv', 'stations.json'] refused\n");

    const record = await lastRecord(json.executionId);
    expect(record?.event).toBe('completed');
    const objects = record?.outcome?.datasets ?? [];
    expect(objects.map((o) => o.key).sort()).toEqual([
      'samples/iris.csv',
      'samples/weather/readings.csv',
      'samples/weather/stations.json',
    ]);
    for (const object of objects) {
      const bytes = seedFile(object.key);
      expect(object).toMatchObject({
        dataset: 'samples',
        bucket: 'custody-local-datasets',
        bytes: bytes.length,
        sha256: sha256(bytes),
        etag: expect.stringMatching(/^"[0-9a-f]{32}"$/),
      });
    }
  });

  it("lets JavaScript read the samples through files.read('/data/samples/<key>')", async () => {
    const { status, json } = await execute({
      language: 'javascript',
      code: "JSON.parse(files.read('/data/samples/weather/stations.json')).stations.map((s) => s.id).join(',')",
      datasets: { samples: ['weather/stations.json'] },
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({ status: 'succeeded', result: '"ST-01,ST-02,ST-03"' });
  });

  it('refuses a dataset the profile does not declare with 403 DATASET_DENIED and a denied record', async () => {
    const { status, json } = await execute({
      language: 'python',
      code: 'print(1)',
      datasets: { secrets: ['all.csv'] },
    });
    expect(status).toBe(403);
    expect(json.error).toMatchObject({ code: 'DATASET_DENIED' });
    const record = await lastRecord(json.error.executionId);
    expect(record).toMatchObject({ event: 'denied', decision: { allowed: false, reason: 'DATASET_DENIED' } });
  });

  it('refuses a key that escapes the prefix before anything runs (400)', async () => {
    const { status, json } = await execute({
      language: 'python',
      code: 'print(1)',
      datasets: { samples: ['../other/x.csv'] },
    });
    expect(status).toBe(400);
    expect(json.error.message).toMatch(/datasets/);
  });

  it('refuses a missing key with 404 naming it, and a denied record', async () => {
    const { status, json } = await execute({
      language: 'python',
      code: 'print(1)',
      datasets: { samples: ['nope.csv'] },
    });
    expect(status).toBe(404);
    expect(json.error.message).toContain('samples/nope.csv');
    const records = await t.server.auditStore.get(json.error.executionId);
    expect(records.map((r) => r.event)).toEqual(['started', 'denied']);
  });

  it("refuses more bytes than the dataset's maxBytes with 413 naming the limit", async () => {
    const { status, json } = await execute({
      language: 'python',
      code: 'print(1)',
      datasets: { tiny: ['iris.csv'] },
    });
    expect(status).toBe(413);
    expect(json.error.message).toMatch(/dataset "tiny".*limit of 64 bytes/);
  });

  it('stores the output files as artifacts under runs/<executionId>/ and lists them with their sha256', async () => {
    const report = 'species,count\nsetosa,5\n';
    const { status, json } = await execute({
      language: 'python',
      code: `open('report.csv', 'w').write(${JSON.stringify(report)})`,
    });
    expect(status).toBe(200);
    const key = `runs/${json.executionId}/report.csv`;
    const expected = { path: 'report.csv', key, bytes: report.length, sha256: sha256(Buffer.from(report)) };
    expect(json.artifacts).toEqual([expected]);
    const record = await lastRecord(json.executionId);
    expect(record?.outcome?.artifacts).toEqual([{ ...expected, bucket: 'custody-local-artifacts' }]);

    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: t.server.info.s3Endpoint,
      forcePathStyle: true,
      credentials: LOCAL_S3_KEY,
    });
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: 'custody-local-artifacts', Key: key }));
      const stored = Buffer.from(
        await (object.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      expect(sha256(stored)).toBe(expected.sha256);
    } finally {
      s3.destroy();
    }
  });
});
