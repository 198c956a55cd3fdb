/**
 * Local mode's audit log: JSON lines appended to a file (`.custody/audit.log`). Writes from one
 * process are queued, so concurrent executions never interleave or lose lines; the lines queued
 * while an append is in flight go to the file in one append (a write still resolves only once its
 * own line is in the file).
 */
import { readFile } from 'node:fs/promises';
import {
  type AuditDigestLog,
  type DigestAnchor,
  digestLine,
  parseDigestAnchors,
  recordLine,
} from '../../audit/audit-log-line.ts';
import { AuditWriteError, describeError } from '../../audit/errors.ts';
import type { SignedDigest } from '../../audit/item.ts';
import type { AuditRecord } from '../../core/audit-record.ts';
import type { AuditLog } from '../../core/ports.ts';
import { LineAppender } from './line-appender.ts';

export class FileAuditLog implements AuditLog, AuditDigestLog {
  readonly path: string;
  private readonly lines: LineAppender;

  constructor(path: string) {
    this.path = path;
    this.lines = new LineAppender(path, { createDirectory: true });
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
    await this.lines.settled();
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return text.split('\n').filter((line) => line.length > 0);
  }

  /** Waits for the lines written so far and closes the file (a later write opens it again). */
  close(): Promise<void> {
    return this.lines.close();
  }

  /** The digests this log anchors, for `verifyChain({ anchors })`. */
  async readDigestAnchors(): Promise<DigestAnchor[]> {
    return parseDigestAnchors(await this.readLines());
  }

  private async append(line: string): Promise<void> {
    try {
      await this.lines.append(line);
    } catch (error) {
      throw new AuditWriteError(`could not append to audit log ${this.path}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }
}
