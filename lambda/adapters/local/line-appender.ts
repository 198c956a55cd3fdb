/**
 * Appends lines to a file, one append at a time, with the lines that arrive while an append is in
 * flight (or in the same tick) coalesced into the next one: one write for many lines under load,
 * in arrival order, never interleaved. Each `append` resolves only once its own line is in the
 * file, and rejects (with every line of its batch) if that append failed.
 *
 * The file stays open in append mode while lines keep coming, and is closed once none has come
 * for `idleCloseMs` (opening and closing it for every write cost more than the write). A failed
 * write closes it, so the next one opens the path afresh; so does a file moved away while idle.
 */
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LineAppenderOptions {
  /** Create the file's directory (once, and again after a failure) before appending. @default false */
  readonly createDirectory?: boolean;
  /** The file's mode when it is created. @default 0o600 */
  readonly mode?: number;
  /** How long the file stays open after the last write. @default 1000 */
  readonly idleCloseMs?: number;
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
  private readonly idleCloseMs: number;
  /** The open file; only `write` and `closeFile` touch it, and never at the same time. */
  private file: FileHandle | undefined;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(path: string, options: LineAppenderOptions = {}) {
    this.path = path;
    this.createDirectory = options.createDirectory ?? false;
    this.mode = options.mode ?? 0o600;
    this.idleCloseMs = options.idleCloseMs ?? 1_000;
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

  /** Waits for the lines appended so far, then closes the file (a later append opens it again). */
  async close(): Promise<void> {
    const closed = this.tail.catch(() => undefined).then(() => this.closeFile());
    this.tail = closed;
    await closed;
  }

  private async write(text: string): Promise<void> {
    try {
      if (this.file === undefined) {
        if (this.createDirectory) {
          this.dirReady ??= mkdir(dirname(this.path), { recursive: true });
          await this.dirReady;
        }
        this.file = await open(this.path, 'a', this.mode);
      }
      await this.file.appendFile(text);
    } catch (error) {
      this.dirReady = undefined;
      await this.closeFile();
      throw error;
    }
    if (this.idleTimer) this.idleTimer.refresh();
    else {
      this.idleTimer = setTimeout(() => {
        // Queued behind any write in flight, so the file is never closed under one.
        this.tail = this.tail.catch(() => undefined).then(() => this.closeFile());
      }, this.idleCloseMs);
      this.idleTimer.unref();
    }
  }

  private async closeFile(): Promise<void> {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const file = this.file;
    this.file = undefined;
    await file?.close().catch(() => undefined);
  }
}
