/**
 * Runs the real `custody` CLI in-process with captured streams, for tests.
 *
 *   const out = await runCli(['audit', 'report', '--json'], { env: { CUSTODY_HOME: home }, cwd: home });
 *   expect(out.code).toBe(EXIT.succeeded);
 *
 * `seams` replaces the clock or the `--follow` wait. `captureIo` gives the streams alone, for a test that calls a subcommand directly or changes the
 * io before calling `main`.
 */
import { PassThrough } from 'node:stream';
import type { CliIo, CliOptions } from '../../client/cli/io.ts';
import { main } from '../../client/cli/main.ts';

export interface CliRunOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** What the CLI reads on stdin. Empty (the default) means stdin is a terminal with nothing piped. */
  readonly stdin?: string;
}

export interface CapturedOutput {
  /** Everything written so far; read it after the command has finished. */
  stdout: string;
  stderr: string;
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Fresh in-memory streams for one CLI call, and what the call writes to stdout and stderr. */
export function captureIo(options: CliRunOptions): { io: CliIo; out: CapturedOutput } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: CapturedOutput = { stdout: '', stderr: '' };
  stdout.on('data', (d: Buffer) => {
    out.stdout += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    out.stderr += d.toString();
  });
  const piped = options.stdin ?? '';
  const stdin = Object.assign(new PassThrough(), { isTTY: piped === '' ? true : undefined });
  stdin.end(piped);
  return { io: { stdout, stderr, stdin, env: options.env, cwd: options.cwd }, out };
}

/** `custody <args>` through `main`, as the binary would run it; the exit code and both outputs. */
export async function runCli(
  args: readonly string[],
  options: CliRunOptions,
  seams: CliOptions = {},
): Promise<CliRun> {
  const { io, out } = captureIo(options);
  const code = await main(args, io, seams);
  return { code, stdout: out.stdout, stderr: out.stderr };
}
