/**
 * Typed errors. A user's code failing is NOT an error (it is a SandboxResult); these are for
 * bad input, denied requests and infrastructure failure. Each maps to one HTTP status and a
 * stable code that the API returns as `{ error: { code, message } }`.
 */

export class CustodyError extends Error {
  /** HTTP status this error maps to at the API edge. */
  readonly httpStatus: number;
  /** Stable machine-readable code (e.g. `NO_GRANT`, `INVALID_REQUEST`). */
  readonly code: string;

  constructor(code: string, message: string, httpStatus: number, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CustodyError';
    this.code = code;
    this.httpStatus = httpStatus;
  }
}

/** 400: the request (or a file, or a flag) is malformed; the message names the field. */
export class ValidationError extends CustodyError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_REQUEST', message, 400, options);
    this.name = 'ValidationError';
  }
}

/** 403: the caller may not do this; `code` is the reason code. */
export class DeniedError extends CustodyError {
  constructor(reasonCode: string, message: string, options?: ErrorOptions) {
    super(reasonCode, message, 403, options);
    this.name = 'DeniedError';
  }
}

/** 404 */
export class NotFoundError extends CustodyError {
  constructor(message: string, options?: ErrorOptions) {
    super('NOT_FOUND', message, 404, options);
    this.name = 'NotFoundError';
  }
}

/** 413 */
export class PayloadTooLargeError extends CustodyError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, 413, options);
    this.name = 'PayloadTooLargeError';
  }
}

/** 429 */
export class ThrottledError extends CustodyError {
  constructor(message: string, options?: ErrorOptions) {
    super('THROTTLED', message, 429, options);
    this.name = 'ThrottledError';
  }
}

/** 503: a dependency (policy, STS, secrets, executor, audit store) failed; nothing ran. Fail closed. */
export class DependencyError extends CustodyError {
  /** Which dependency failed: 'audit' | 'credentials' | 'secrets' | 'executor' | 'policy'. */
  readonly dependency: string;

  constructor(dependency: string, message: string, options?: ErrorOptions) {
    super('DEPENDENCY_UNAVAILABLE', message, 503, options);
    this.name = 'DependencyError';
    this.dependency = dependency;
  }
}

/** A policy file that does not parse or does not match the schema; names the file and the field. */
export class PolicyFileError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PolicyFileError';
  }
}
