/**
 * What a command reads and writes: its streams, environment and working directory are parameters,
 * so tests drive the CLI in-process; and the few ways it writes to them.
 */
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import type { Clock } from '../../lambda/core/ports.ts';
import { printableLines } from './terminal-text.ts';
import { UsageError } from './usage-error.ts';

export interface CliIo {
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly stdin: Readable & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** What tests replace: time, and the wait between `audit tail --follow` polls. */
export interface CliOptions {
  /** "Now" for audit verification, reports and kill-switch actions. @default () => new Date() */
  readonly clock?: Clock;
  /** Waits between polls of `audit tail --follow`; resolving `false` stops following. @default a timer */
  readonly pause?: (ms: number) => Promise<boolean>;
}

/** Writes one line (or block): control characters escaped on the way out, `\n` and `\t` kept. */
export function line(stream: Writable, text: string): void {
  const safe = printableLines(text);
  stream.write(safe.endsWith('\n') ? safe : `${safe}\n`);
}

export async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** A file the user named, as text; a usage error naming it (`what`) when it cannot be read. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${what}: cannot read ${path}${code ? ` (${code})` : ''}`);
  }
}
