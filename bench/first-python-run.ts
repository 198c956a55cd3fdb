/**
 * The first Python run after `npm start`, then after a restart on the same data directory:
 * starts `bin/local.ts` as a user would, times how long until the banner, then one signed Python
 * execution (wall time at the client), then a second one for comparison, stops the server
 * (SIGTERM), and does it again. Prints one JSON line per start.
 *
 *   npx tsx bench/first-python-run.ts [starts=2]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCredentialsFile } from '../lambda/adapters/local/identities.ts';
import { installCleanupHooks, spawnTracked, stopTracked, waitForLine } from './lib/processes.ts';
import { type SigningKey, signedClient } from './lib/signed-client.ts';

const ROOT = resolve(import.meta.dirname, '..');
const starts = Number(process.argv[2] ?? 2);

function cleanEnv(home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CUSTODY_')) env[k] = v;
  }
  return {
    ...env,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CUSTODY_HOME: home,
    CUSTODY_PORT: '0',
  };
}

function agentKey(home: string): SigningKey {
  const agent = parseCredentialsFile(readFileSync(join(home, 'credentials'), 'utf8'), 'credentials').get(
    'agent',
  );
  const accessKeyId = agent?.get('aws_access_key_id');
  const secretAccessKey = agent?.get('aws_secret_access_key');
  if (!accessKeyId || !secretAccessKey) throw new Error('no agent key in the credentials file');
  const sessionToken = agent?.get('aws_session_token');
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

async function oneStart(home: string, start: number): Promise<void> {
  const began = performance.now();
  const child = spawnTracked(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/local.ts')], {
    cwd: ROOT,
    env: cleanEnv(home),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const [, url] = await waitForLine(child, /signed API on (http:\/\/127\.0\.0\.1:\d+)/, 300_000);
    const bannerMs = performance.now() - began;
    child.stdout?.resume();
    child.stderr?.resume();
    const client = signedClient({ baseUrl: url as string, key: agentKey(home) });
    const timedRun = async (): Promise<number> => {
      const sent = performance.now();
      const answer = await client.send({
        path: '/v1/executions',
        body: JSON.stringify({ profile: 'sandbox', language: 'python', code: 'print(6 * 7)' }),
        headers: { 'content-type': 'application/json' },
      });
      const ms = performance.now() - sent;
      const body = JSON.parse(answer.body) as { stdout?: string };
      if (answer.status !== 200 || body.stdout !== '42\n')
        throw new Error(`unexpected answer ${answer.body}`);
      return Math.round(ms);
    };
    const firstPythonRunMs = await timedRun();
    const secondPythonRunMs = await timedRun();
    client.close();
    process.stdout.write(
      `${JSON.stringify({ start, bannerMs: Math.round(bannerMs), firstPythonRunMs, secondPythonRunMs })}\n`,
    );
  } finally {
    await stopTracked(child, 'SIGTERM', 10_000);
  }
}

installCleanupHooks();
const home = mkdtempSync(join(tmpdir(), 'custody-bench-first-run-'));
try {
  for (let start = 1; start <= starts; start++) await oneStart(home, start);
} finally {
  rmSync(home, { recursive: true, force: true });
}
