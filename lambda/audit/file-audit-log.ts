/**
 * Local mode's audit log: JSON lines appended to a file (`.custody/audit.log`). Writes from one
 * process are queued, so concurrent executions never interleave or lose lines.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditRecord } from '../core/audit-record.ts';
import type { AuditLog } from '../core/ports.ts';
import {
  type AuditDigestLog,
  type DigestAnchor,
  digestLine,
  parseDigestAnchors,
  recordLine,
} from './audit-log-line.ts';
import { AuditWriteError, describeError } from './errors.ts';
import type { SignedDigest } from './item.ts';

export class FileAuditLog implements AuditLog, AuditDigestLog {
  readonly path: string;
  private queue: Promise<unknown> = Promise.resolve();
  private dirReady: Promise<unknown> | undefined;

  constructor(path: string) {
    this.path = path;
  }

  write(record: AuditRecord): Promise<void> {
    return this.append(recordLine(record));
  }

  writeDigest(digest: SignedDigest): Promise<void> {
    return this.append(digestLine(digest));
  }

  /** Any JSON line (e.g. a verification result). */
  writeLine(line: string): Promise<void> {
    if (line.includes('\n'))
      return Promise.reject(new AuditWriteError('an audit log line cannot contain a newline'));
    return this.append(line);
  }

  /** Every line, in order (empty if the file does not exist yet). */
  async readLines(): Promise<string[]> {
    await this.queue.catch(() => undefined);
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text.split('\n').filter((line) => line.length > 0);
  }

  /** The digests this log anchors, for `verifyAudit({ anchors })`. */
  async readDigestAnchors(): Promise<DigestAnchor[]> {
    return parseDigestAnchors(await this.readLines());
  }

  private append(line: string): Promise<void> {
    this.dirReady ??= mkdir(dirname(this.path), { recursive: true });
    const write = this.queue
      .catch(() => undefined)
      .then(() => this.dirReady)
      .then(() => appendFile(this.path, `${line}\n`, { mode: 0o600 }))
      .catch((error: unknown) => {
        this.dirReady = undefined;
        throw new AuditWriteError(`could not append to audit log ${this.path}: ${describeError(error)}`, {
          cause: error,
        });
      });
    this.queue = write;
    return write;
  }
}
