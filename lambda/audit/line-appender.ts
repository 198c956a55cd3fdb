/**
 * Appends lines to a file, one append at a time, with the lines that arrive while an append is in
 * flight (or in the same tick) coalesced into the next one: one open/write/close for many lines
 * under load, in arrival order, never interleaved. Each `append` resolves only once its own line
 * is in the file, and rejects (with every line of its batch) if that append failed.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LineAppenderOptions {
  /** Create the file's directory (once, and again after a failure) before appending. @default false */
  readonly createDirectory?: boolean;
  /** The file's mode when it is created. @default 0o600 */
  readonly mode?: number;
}

interface Batch {
  readonly lines: string[];
  readonly written: Promise<void>;
}

export class LineAppender {
  readonly path: string;
  private readonly createDirectory: boolean;
  private readonly mode: number;
  /** The last batch handed to the file system (settles when its append does). */
  private tail: Promise<unknown> = Promise.resolve();
  /** The batch still taking lines: its append has not begun. */
  private open: Batch | undefined;
  private dirReady: Promise<unknown> | undefined;

  constructor(path: string, options: LineAppenderOptions = {}) {
    this.path = path;
    this.createDirectory = options.createDirectory ?? false;
    this.mode = options.mode ?? 0o600;
  }

  /** Appends `line` and a newline. The caller makes sure `line` holds no newline. */
  append(line: string): Promise<void> {
    if (this.open) {
      this.open.lines.push(line);
      return this.open.written;
    }
    const lines = [line];
    const written = this.tail
      .catch(() => undefined)
      .then(() => {
        // From here on, new lines go to the next batch.
        if (this.open?.lines === lines) this.open = undefined;
        return this.write(`${lines.join('\n')}\n`);
      });
    this.open = { lines, written };
    this.tail = written;
    return written;
  }

  /** Settles once every line appended so far has been written (or has failed). */
  async settled(): Promise<void> {
    await this.tail.catch(() => undefined);
  }

  private async write(text: string): Promise<void> {
    try {
      if (this.createDirectory) {
        this.dirReady ??= mkdir(dirname(this.path), { recursive: true });
        await this.dirReady;
      }
      await appendFile(this.path, text, { mode: this.mode });
    } catch (error) {
      this.dirReady = undefined;
      throw error;
    }
  }
}
