/**
 * Audit infrastructure errors. They extend DependencyError('audit'), so the broker maps them to
 * 503 and fails closed: if the "started" record cannot be written, nothing runs.
 */
import { DependencyError } from '../core/errors.ts';

/** An audit record (or digest, or log line) was not written. */
export class AuditWriteError extends DependencyError {
  constructor(message: string, options?: ErrorOptions) {
    super('audit', message, options);
    this.name = 'AuditWriteError';
  }
}

/** A different record already holds this execution's event: it was not overwritten. */
export class AuditRecordExistsError extends AuditWriteError {
  readonly executionId: string;
  readonly event: string;

  constructor(executionId: string, event: string) {
    super(
      `an audit '${event}' event for execution ${executionId} already exists with other content; not overwritten`,
    );
    this.name = 'AuditRecordExistsError';
    this.executionId = executionId;
    this.event = event;
  }
}

/** The audit store could not be read, or holds an item that is not a valid record. */
export class AuditReadError extends DependencyError {
  constructor(message: string, options?: ErrorOptions) {
    super('audit', message, options);
    this.name = 'AuditReadError';
  }
}

/** The audit table does not exist or has another shape than `lambda/core/audit-table.ts`. */
export class AuditTableError extends DependencyError {
  constructor(message: string, options?: ErrorOptions) {
    super('audit', message, options);
    this.name = 'AuditTableError';
  }
}

/** `Name (code): message` of an error, for messages that must say what failed without a stack trace. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: string }).code;
    return `${error.name}${code !== undefined && code !== error.name ? ` (${code})` : ''}: ${error.message}`;
  }
  return String(error);
}
