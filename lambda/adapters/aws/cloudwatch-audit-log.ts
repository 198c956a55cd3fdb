/**
 * The audit log on AWS: each audit record (and each signed digest) as one JSON line in the audit
 * log group. One log stream per process, created on first write. Concurrent writes to the stream
 * are fine (PutLogEvents no longer needs sequence tokens). A write that CloudWatch does not accept
 * — an API error or a rejected event — throws AuditWriteError: the caller decides what failing
 * closed means (the broker counts `AuditWriteFailures`).
 */
import { randomUUID } from 'node:crypto';
import {
  type CloudWatchLogsClient,
  CreateLogStreamCommand,
  type FilteredLogEvent,
  FilterLogEventsCommand,
  type FilterLogEventsCommandOutput,
  PutLogEventsCommand,
  type PutLogEventsCommandOutput,
  paginateFilterLogEvents,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  type AuditDigestLog,
  type DigestAnchor,
  digestLine,
  parseDigestAnchors,
  recordLine,
} from '../../audit/audit-log-line.ts';
import { AuditReadError, AuditWriteError, describeError } from '../../audit/errors.ts';
import type { SignedDigest } from '../../audit/item.ts';
import type { AuditRecord } from '../../core/audit-record.ts';
import type { AuditLog, Clock } from '../../core/ports.ts';

export interface CloudWatchAuditLogOptions {
  readonly client: CloudWatchLogsClient;
  readonly logGroupName: string;
  /** @default `YYYY/MM/DD/<random uuid>` (this process's stream) */
  readonly logStreamName?: string;
  /** @default () => new Date() */
  readonly clock?: Clock;
}

/** Selects the digest lines (`{"auditDigest":{"sequence":n,...},...}`) of the audit log group. */
const DIGEST_LINE_FILTER_PATTERN = '{ $.auditDigest.sequence > 0 }';

/** Selects the audit record lines (`{"executionId":...}`) of the audit log group. */
export const RECORD_LINE_FILTER_PATTERN = '{ $.executionId = "*" }';

/** CloudWatch's limit on one event's message (1 MiB minus the 26-byte per-event overhead). */
const MAX_MESSAGE_BYTES = 1_048_576 - 26;

export class CloudWatchAuditLog implements AuditLog, AuditDigestLog {
  readonly logGroupName: string;
  readonly logStreamName: string;
  private readonly client: CloudWatchLogsClient;
  private readonly clock: Clock;
  private streamReady: Promise<void> | undefined;

  constructor(options: CloudWatchAuditLogOptions) {
    this.client = options.client;
    this.logGroupName = options.logGroupName;
    this.clock = options.clock ?? (() => new Date());
    this.logStreamName =
      options.logStreamName ??
      `${this.clock().toISOString().slice(0, 10).replaceAll('-', '/')}/${randomUUID()}`;
  }

  write(record: AuditRecord): Promise<void> {
    return this.writeLine(recordLine(record), `record ${record.executionId}/${record.event}`);
  }

  writeDigest(digest: SignedDigest): Promise<void> {
    return this.writeLine(digestLine(digest), `digest ${digest.body.sequence}`);
  }

  /**
   * The digests this log group anchors, for `verifyChain({ anchors })`: every digest line of every
   * stream (FilterLogEvents, all pages). A digest line whose hash disagrees with its body is
   * refused (AuditReadError naming its stream and time): the anchor itself was altered.
   */
  async readDigestAnchors(): Promise<DigestAnchor[]> {
    const anchors: DigestAnchor[] = [];
    for await (const event of this.filter(DIGEST_LINE_FILTER_PATTERN, 'digest lines')) {
      try {
        anchors.push(...parseDigestAnchors([event.message ?? '']));
      } catch (error) {
        const at = event.timestamp === undefined ? '' : ` at ${new Date(event.timestamp).toISOString()}`;
        throw new AuditReadError(
          `log group ${this.logGroupName}, stream ${event.logStreamName ?? '?'}${at}: ${(error as Error).message.replace(/^audit log line \d+: /, '')}`,
        );
      }
    }
    return anchors;
  }

  /**
   * The audit record lines of every stream written since `since` (FilterLogEvents, all pages), for
   * reconciliation (`reconcile.ts`). Events arrive in time order per page.
   */
  async *readRecordLines(options: { readonly since?: Date } = {}): AsyncGenerator<string> {
    for await (const event of this.filter(RECORD_LINE_FILTER_PATTERN, 'record lines', options.since)) {
      if (event.message !== undefined) yield event.message;
    }
  }

  /** The group's events matching `filterPattern` (every page, SDK paginator); `what` names them in errors. */
  private async *filter(filterPattern: string, what: string, since?: Date): AsyncGenerator<FilteredLogEvent> {
    const pages = paginateFilterLogEvents(
      // Each page's command with its own copy of the input (the paginator moves one object's token).
      { client: this.client, withCommand: (command) => new FilterLogEventsCommand({ ...command.input }) },
      {
        logGroupName: this.logGroupName,
        filterPattern,
        ...(since === undefined ? {} : { startTime: since.getTime() }),
      },
    );
    const iterator = pages[Symbol.asyncIterator]();
    for (;;) {
      let page: IteratorResult<FilterLogEventsCommandOutput>;
      try {
        page = await iterator.next();
      } catch (error) {
        throw new AuditReadError(
          `could not read the ${what} of log group ${this.logGroupName}: ${describeError(error)}`,
          { cause: error },
        );
      }
      if (page.done === true) return;
      yield* page.value.events ?? [];
    }
  }

  /** Writes one line; `what` names it in errors. */
  async writeLine(message: string, what = 'audit log line'): Promise<void> {
    if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) {
      throw new AuditWriteError(
        `${what} is ${Buffer.byteLength(message)} bytes; CloudWatch accepts at most ${MAX_MESSAGE_BYTES}`,
      );
    }
    await this.ensureStream();
    let out: PutLogEventsCommandOutput;
    try {
      out = await this.put(message);
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceNotFoundException') throw this.failure(what, error);
      // The stream was deleted under us: create it again, once.
      this.streamReady = undefined;
      await this.ensureStream();
      try {
        out = await this.put(message);
      } catch (retryError) {
        throw this.failure(what, retryError);
      }
    }
    const rejected = out.rejectedLogEventsInfo;
    if (rejected !== undefined && Object.values(rejected).some((v) => v !== undefined)) {
      throw new AuditWriteError(
        `CloudWatch Logs rejected ${what} in ${this.logGroupName}/${this.logStreamName}: ${JSON.stringify(rejected)}`,
      );
    }
  }

  private put(message: string): Promise<PutLogEventsCommandOutput> {
    return this.client.send(
      new PutLogEventsCommand({
        logGroupName: this.logGroupName,
        logStreamName: this.logStreamName,
        logEvents: [{ timestamp: this.clock().getTime(), message }],
      }),
    );
  }

  private ensureStream(): Promise<void> {
    this.streamReady ??= this.createStream().catch((error: unknown) => {
      this.streamReady = undefined;
      throw error;
    });
    return this.streamReady;
  }

  private async createStream(): Promise<void> {
    try {
      await this.client.send(
        new CreateLogStreamCommand({ logGroupName: this.logGroupName, logStreamName: this.logStreamName }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ResourceAlreadyExistsException') return;
      throw new AuditWriteError(
        `could not create log stream ${this.logStreamName} in ${this.logGroupName}: ${describeError(error)}`,
        { cause: error },
      );
    }
  }

  private failure(what: string, error: unknown): AuditWriteError {
    if (error instanceof AuditWriteError) return error;
    return new AuditWriteError(
      `could not write ${what} to ${this.logGroupName}/${this.logStreamName}: ${describeError(error)}`,
      { cause: error },
    );
  }
}
