/**
 * clig.dev conventions: `--help` on every command and subcommand prints that command's usage and
 * does nothing else; `--version`, `-V` and `version` print the package version.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KILL_SWITCH_USAGE } from '../../../client/cli/commands/revoke.ts';
import { EXIT } from '../../../client/cli/exit-codes.ts';
import { runCli } from '../../support/cli.ts';

const ROOT = join(import.meta.dirname, '../../..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let home: string;
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'custody-cli-help-'));
  // A local stack whose table and API are down: any command that did its work would fail or write.
  writeFileSync(
    join(home, 'local.json'),
    JSON.stringify({
      apiEndpoint: 'http://127.0.0.1:9',
      dynamodbEndpoint: 'http://127.0.0.1:9',
      auditTableName: 'custody-audit',
      region: 'us-east-1',
      credentialsFile: join(home, 'credentials'),
      auditLog: join(home, 'audit.log'),
    }),
  );
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const cli = (args: string[]) =>
  runCli(args, { env: { CUSTODY_HOME: home, AWS_EC2_METADATA_DISABLED: 'true' }, cwd: home });

describe('custody --help', () => {
  it.each([
    ['run', '--profile'],
    ['profiles', '--json'],
    ['show', 'EXECUTION_ID'],
    ['audit tail', '--follow'],
    ['audit verify', '--no-digest'],
    ['audit report', '--since-hours'],
    ['audit reconcile', '--log-group'],
    ['mcp', 'MCP'],
  ])('custody %s --help prints its own usage and does nothing else', async (command, option) => {
    for (const flag of ['--help', '-h']) {
      const out = await cli([...command.split(' '), flag]);

      expect(out.code).toBe(EXIT.succeeded);
      expect(out.stdout).toContain(`Usage: custody ${command} `);
      expect(out.stdout).toContain(option);
      expect(out.stderr).toBe('');
    }
    // audit verify would have written a digest (and reconcile a record) into the local stack.
    expect(readdirSync(home)).toEqual(['local.json']);
  });

  it('custody revoke|reinstate --help prints the kill-switch usage and revokes nothing', async () => {
    for (const command of ['revoke', 'reinstate']) {
      const out = await cli([command, '--profile', 'sandbox', '--help']);
      expect(out).toEqual({ code: EXIT.succeeded, stdout: KILL_SWITCH_USAGE, stderr: '' });
    }
    expect(existsSync(join(home, 'audit.log'))).toBe(false);
  });

  it('custody audit and custody help audit list the audit subcommands', async () => {
    for (const args of [['audit'], ['audit', '--help'], ['help', 'audit']]) {
      const out = await cli(args);
      expect(out.code).toBe(EXIT.succeeded);
      expect(out.stdout).toMatch(/Usage: custody audit[\s\S]*tail[\s\S]*verify[\s\S]*report[\s\S]*reconcile/);
    }
  });

  it('custody help run prints the run usage', async () => {
    const out = await cli(['help', 'run']);
    expect(out.code).toBe(EXIT.succeeded);
    expect(out.stdout).toContain('Usage: custody run ');
  });

  it('custody, custody help and custody --help print the overview with the exit codes', async () => {
    const overview = await cli(['--help']);
    expect(overview.stdout).toContain('custody audit tail [-n N] [--follow]');
    expect(overview.stdout).toContain('11 audit trail tampered, 12 internal error');
    for (const args of [[], ['help'], ['-h']]) expect(await cli(args)).toEqual(overview);
  });
});

describe('custody --version', () => {
  it.each([['--version'], ['-V'], ['version']])('custody %s prints the package version', async (flag) => {
    expect(await cli([flag])).toEqual({ code: EXIT.succeeded, stdout: `${VERSION}\n`, stderr: '' });
  });
});

describe('custody usage errors', () => {
  it('names the command, the unknown option and where its usage is', async () => {
    const out = await cli(['audit', 'tail', '--folow']);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toBe(
      "custody audit tail: Unknown option '--folow'. (Did you mean --follow?) (see custody audit tail --help)\n",
    );
  });

  it('refuses an argument a command does not take', async () => {
    const out = await cli(['profiles', 'extra']);
    expect(out.code).toBe(EXIT.usage);
    expect(out.stderr).toContain("custody profiles: Too many arguments for 'profiles'");
  });
});
