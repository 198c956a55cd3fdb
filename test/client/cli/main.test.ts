import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../../client/cli/exit-codes.ts';
import { languageOfFile } from '../../../client/cli/language.ts';
import { runCli } from '../../support/cli.ts';

const cwd = mkdtempSync(join(tmpdir(), 'custody-cli-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function cli(args: string[], env: NodeJS.ProcessEnv = {}, stdin = '') {
  return runCli(args, { env: { CUSTODY_HOME: join(cwd, 'none'), ...env }, cwd, stdin });
}

describe('custody CLI arguments', () => {
  it('prints usage with the exit codes for --help', async () => {
    const out = await cli(['--help']);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('custody run [FILE]');
    expect(out.stdout).toContain('6 denied');
  });

  it('names an unknown flag and exits 2', async () => {
    const out = await cli(['run', '--profile', 'sandbox', '--langauge', 'python', '-c', '1']);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toContain("Unknown option '--langauge'");
  });

  it('requires --profile', async () => {
    const out = await cli(['run', '-l', 'python', '-c', 'print(1)']);
    expect(out).toMatchObject({ code: 2, stderr: expect.stringContaining('--profile is required') });
  });

  it('requires --language when it cannot infer it from the file', async () => {
    writeFileSync(join(cwd, 'notes.txt'), 'print(1)');
    const out = await cli(['run', '--profile', 'sandbox', 'notes.txt']);
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--language: cannot infer the language of notes.txt');
  });

  it('names a language it does not know', async () => {
    const out = await cli(['run', '--profile', 'sandbox', '--language', 'ruby', '-c', 'puts 1']);
    expect(out.stderr).toContain('--language: "ruby" is not one of python, javascript, typescript');
  });

  it('refuses code given both with -c and as a file', async () => {
    const out = await cli(['run', '--profile', 'sandbox', '-c', '1', 'x.py']);
    expect(out).toMatchObject({ code: 2, stderr: expect.stringContaining('either with -c or as FILE') });
  });

  it('refuses a missing file, naming it', async () => {
    const out = await cli(['run', '--profile', 'sandbox', 'missing.py']);
    expect(out).toMatchObject({ code: 2, stderr: expect.stringContaining('missing.py (ENOENT)') });
  });

  it('refuses a malformed --input and --timeout-ms', async () => {
    expect(
      (await cli(['run', '--profile', 's', '-l', 'js', '-c', '1', '--input', '=data.csv'])).stderr,
    ).toContain('--input: "=data.csv" must be NAME=PATH or PATH');
    expect(
      (await cli(['run', '--profile', 's', '-l', 'js', '-c', '1', '--timeout-ms', 'soon'])).stderr,
    ).toContain('--timeout-ms: "soon"');
  });

  it('exits 9 naming the ways to set an endpoint when there is none', async () => {
    const out = await cli(['run', '--profile', 'sandbox', '-l', 'python', '-c', 'print(1)']);
    expect(out.code).toBe(EXIT.config);
    expect(out.stderr).toContain(
      'no custody endpoint: pass --endpoint, set CUSTODY_ENDPOINT, or start local mode',
    );
  });

  it('names an unknown command and an unknown audit subcommand', async () => {
    expect(await cli(['rnu'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown command "rnu"'),
    });
    expect(await cli(['audit', 'erase'])).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown subcommand "erase"'),
    });
  });

  it('infers the language from the file extension', () => {
    expect(languageOfFile('a/b/job.py')).toBe('python');
    expect(languageOfFile('job.MJS')).toBe('javascript');
    expect(languageOfFile('job.ts')).toBe('typescript');
    expect(languageOfFile('job.rb')).toBeUndefined();
  });
});
