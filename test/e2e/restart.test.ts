/**
 * `npm start` as a user runs it (bin/local.ts in its own process): stops cleanly on Ctrl-C, keeps
 * keys and audit history across restarts, refuses a second server on the same data directory, and
 * two servers in two directories share nothing; builds the Python snapshot once, before it says
 * ready, and reuses it; sweeps the temp folders a killed server left.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCredentialsFile } from '../../lambda/adapters/local/identities.ts';
import { baseEnv, custody, ROOT, runProcess, startServerProcess } from './support.ts';

const homes: string[] = [];
afterAll(() => {
  for (const home of homes) rmSync(home, { recursive: true, force: true });
});

function newHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'custody-restart-'));
  homes.push(home);
  return home;
}

function serverEnv(home: string): NodeJS.ProcessEnv {
  return { ...baseEnv(), CUSTODY_HOME: home, CUSTODY_PORT: '0' };
}

function cliEnv(home: string, profile = 'agent'): NodeJS.ProcessEnv {
  return { ...baseEnv(), CUSTODY_HOME: home, AWS_PROFILE: profile };
}

async function runJs(home: string, code: string): Promise<string> {
  const out = await custody(['run', '--profile', 'sandbox', '-l', 'js', '-c', code, '--json'], cliEnv(home));
  expect(out.code, out.stderr).toBe(0);
  return (JSON.parse(out.stdout) as { executionId: string }).executionId;
}

describe('npm start', () => {
  it('prints a paste-able run line, stops on Ctrl-C, keeps keys and history across a restart, and holds its directory', async () => {
    const home = newHome();
    const first = await startServerProcess(serverEnv(home));
    expect(first.output()).toContain('AWS_PROFILE=agent npx custody run --profile sandbox');
    expect(first.output()).toContain('--aws-sigv4 aws:amz:us-east-1:execute-api');
    const keys = readFileSync(join(home, 'credentials'), 'utf8');
    const executionId = await runJs(home, 'console.log("before restart")');
    expect(await first.stop('SIGINT')).toBe(0);
    expect(first.output()).toContain('custody: stopped.');

    const second = await startServerProcess(serverEnv(home));
    try {
      expect(second.output()).not.toContain('new keys generated');
      expect(readFileSync(join(home, 'credentials'), 'utf8')).toBe(keys);
      const show = await custody(['show', executionId, '--json'], cliEnv(home));
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout).records.map((r: { event: string }) => r.event)).toEqual([
        'started',
        'completed',
      ]);
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
  });

  it('prints no secret key or session token, and its curl example runs as printed (issue #12, class 12)', async () => {
    const home = newHome();
    const server = await startServerProcess(serverEnv(home));
    try {
      const banner = server.output();
      const files = parseCredentialsFile(readFileSync(join(home, 'credentials'), 'utf8'), 'credentials');
      expect(files.size).toBeGreaterThan(1);
      for (const [name, values] of files) {
        expect(banner).toContain(name);
        for (const key of ['aws_secret_access_key', 'aws_session_token']) {
          const value = values.get(key);
          if (value) expect(banner, `${name} ${key}`).not.toContain(value);
        }
      }
      const lines = banner.split('\n');
      const at = lines.findIndex((line) => line.startsWith('or with curl'));
      expect(at).toBeGreaterThan(0);
      const script = lines.slice(at + 1, at + 3).join('\n');
      const out = await runProcess('sh', ['-c', script], { env: baseEnv() });
      expect(out.code, out.stderr).toBe(0);
      expect(JSON.parse(out.stdout)).toMatchObject({ status: 'succeeded', stdout: '42\n' });
    } finally {
      expect(await server.stop('SIGTERM')).toBe(0);
    }
  });

  it('names the variable when CUSTODY_PORT is not a port', async () => {
    const out = await runProcess(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/local.ts')], {
      env: { ...serverEnv(newHome()), CUSTODY_PORT: 'eighty' },
    });
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('CUSTODY_PORT must be a port number from 0 to 65535, got "eighty"');
  });
});

describe('npm start and Python', () => {
  it("builds the snapshot before it says ready, and after a kill -9 the next start reuses it and sweeps the dead servers' temp folders", async () => {
    const home = newHome();
    const tmp = newHome(); // the servers' TMPDIR: only this test's folders in it
    const env = { ...serverEnv(home), TMPDIR: tmp };
    const stale = join(tmp, 'custody-python-stale');
    mkdirSync(join(stale, 'runtime-x'), { recursive: true });
    writeFileSync(join(stale, 'owner'), '2147483646'); // above any pid_max: no such process
    const pythonFolders = () => readdirSync(tmp).filter((name) => name.startsWith('custody-python-'));

    const first = await startServerProcess(env);
    const banner = first.output();
    const building = banner.indexOf('custody: building the Python snapshot');
    expect(building, banner).toBeGreaterThanOrEqual(0);
    expect(banner.indexOf('custody: Python snapshot built in')).toBeGreaterThan(building);
    expect(banner.indexOf('signed API on')).toBeGreaterThan(banner.indexOf('Python snapshot built'));
    const snapshots = readdirSync(join(home, 'python')).filter((name) => name.endsWith('.snapshot'));
    expect(snapshots).toHaveLength(1);
    const snapshot = join(home, 'python', snapshots[0] as string);
    const built = statSync(snapshot);
    expect(statSync(join(home, 'python')).mode & 0o777).toBe(0o700);
    const killedFolders = pythonFolders();
    expect(killedFolders).toHaveLength(1); // the stale one is gone, the server's own is there
    expect(killedFolders).not.toContain('custody-python-stale');
    await first.stop('SIGKILL');
    expect(pythonFolders()).toEqual(killedFolders); // nothing removed it

    const second = await startServerProcess(env);
    try {
      expect(second.output()).toContain(`custody: Python snapshot reused: ${snapshot}`);
      expect(second.output()).not.toContain('building the Python snapshot');
      const again = statSync(snapshot);
      expect([again.ino, again.mtimeMs]).toEqual([built.ino, built.mtimeMs]);
      const remaining = pythonFolders();
      expect(remaining).toHaveLength(1);
      expect(remaining).not.toContain(killedFolders[0]);
      const run = await custody(
        ['run', '--profile', 'sandbox', '-l', 'python', '-c', 'print(6 * 7)'],
        cliEnv(home),
      );
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toBe('42\n');
    } finally {
      expect(await second.stop('SIGTERM')).toBe(0);
    }
    expect(pythonFolders()).toEqual([]);
  }, 150_000);
});

describe('two local servers', () => {
  it('on different ports and directories share no keys and no history', async () => {
    const [homeA, homeB] = [newHome(), newHome()];
    const [a, b] = await Promise.all([
      startServerProcess(serverEnv(homeA)),
      startServerProcess(serverEnv(homeB)),
    ]);
    try {
      expect(a.url).not.toBe(b.url);
      const inA = await runJs(homeA, 'console.log("a")');
      const inB = await runJs(homeB, 'console.log("b")');

      // A's agent key means nothing to B.
      const agentA = parseCredentialsFile(readFileSync(join(homeA, 'credentials'), 'utf8'), 'A').get('agent');
      const crossed = await custody(['profiles'], {
        ...baseEnv(),
        CUSTODY_ENDPOINT: b.url,
        AWS_ACCESS_KEY_ID: agentA?.get('aws_access_key_id'),
        AWS_SECRET_ACCESS_KEY: agentA?.get('aws_secret_access_key'),
        AWS_SESSION_TOKEN: agentA?.get('aws_session_token'),
      });
      expect(crossed.code).toBe(6);
      expect(crossed.stderr).toContain('UNKNOWN_ACCESS_KEY');

      // Each sees its own execution and not the other's.
      expect((await custody(['show', inA], cliEnv(homeA))).code).toBe(0);
      expect((await custody(['show', inB], cliEnv(homeB))).code).toBe(0);
      const missing = await custody(['show', inA], cliEnv(homeB));
      expect(missing.code).toBe(7);
      expect(missing.stderr).toContain('NOT_FOUND');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    // Two servers and seven CLI processes: on a loaded 2-core machine this passed 60 s once.
  }, 150_000);
});
