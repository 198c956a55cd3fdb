/**
 * `custody run` against the real local server, started in a project's `.custody` and called from
 * one of its subdirectories, as an operator would: inputs named after their file, and the files
 * the run wrote saved with `--output-dir`.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../../client/cli/exit-codes.ts';
import { baseEnv, startTestServer, type TestServer } from '../../../e2e/support.ts';
import { runCli } from '../../../support/cli.ts';

let t: TestServer;
let project: string;
let cwd: string;

beforeAll(async () => {
  project = mkdtempSync(join(tmpdir(), 'custody-cli-run-'));
  cwd = join(project, 'analysis');
  mkdirSync(cwd);
  writeFileSync(join(cwd, 'data.csv'), 'a,b\n1,2\n3,4\n');
  t = await startTestServer({ home: join(project, '.custody') });
});
afterAll(async () => {
  await t?.stop();
  rmSync(project, { recursive: true, force: true });
});

// No CUSTODY_HOME: the CLI finds ../.custody/local.json itself.
const custody = (args: string[]) => runCli(args, { env: { ...baseEnv(), AWS_PROFILE: 'agent' }, cwd });

const SUM_ROWS = [
  'const rows = files.read("data.csv").trim().split("\\n").slice(1);',
  'const sums = rows.map((r) => r.split(",").map(Number).reduce((x, y) => x + y, 0));',
  'files.write("sums.txt", sums.join("\\n") + "\\n");',
  'files.write("charts/count.txt", String(rows.length));',
  'console.log("rows", rows.length);',
].join('\n');

describe('custody run with files', () => {
  it('sends --input data.csv as data.csv and saves what the run wrote in --output-dir', async () => {
    const out = await custody([
      'run',
      '--profile',
      'sandbox',
      '-l',
      'js',
      '--input',
      'data.csv',
      '--output-dir',
      'results',
      '-c',
      SUM_ROWS,
    ]);

    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expect(out.stdout).toBe('rows 2\n');
    expect(out.stderr).toContain('files: sums.txt, charts/count.txt');
    expect(out.stderr).toContain(`custody: 2 files saved in ${join(cwd, 'results')}\n`);
    expect(readFileSync(join(cwd, 'results', 'sums.txt'), 'utf8')).toBe('3\n7\n');
    expect(readFileSync(join(cwd, 'results', 'charts', 'count.txt'), 'utf8')).toBe('2');
  });

  it('saves the files with --json too, printing the response alone on stdout', async () => {
    const out = await custody([
      'run',
      '--profile',
      'sandbox',
      '-l',
      'js',
      '--input',
      'rows.csv=data.csv',
      '--output-dir',
      'json-results',
      '--json',
      '-c',
      'files.write("copy.csv", files.read("rows.csv"))',
    ]);

    expect(out.code, out.stderr).toBe(EXIT.succeeded);
    expect(JSON.parse(out.stdout)).toMatchObject({
      status: 'succeeded',
      files: { 'copy.csv': 'a,b\n1,2\n3,4\n' },
    });
    expect(readdirSync(join(cwd, 'json-results'))).toEqual(['copy.csv']);
  });

  it('names the profiles the caller may use when it asks for another', async () => {
    const out = await custody(['run', '--profile', 'sandbx', '-l', 'js', '-c', '1']);

    expect(out.code).toBe(EXIT.denied);
    expect(out.stderr).toMatch(
      /^custody: denied, UNKNOWN_PROFILE: profile: "sandbx" is not a profile of this policy\. Your profiles: [^\n]*\bsandbox\b[^\n]*\. \(execution \w+\)\n$/,
    );
  });
});
