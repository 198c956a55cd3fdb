import { describe, expect, it } from 'vitest';
import { EXIT } from '../../../client/cli/exit-codes.ts';
import { reportError } from '../../../client/cli/report-error.ts';
import { UsageError } from '../../../client/cli/usage-error.ts';
import { CustodyApiError, CustodyNetworkError } from '../../../client/index.ts';
import { AuditReadError } from '../../../lambda/audit/errors.ts';
import { captureIo } from '../../support/cli.ts';

function report(error: unknown) {
  const { io, out } = captureIo({ env: {}, cwd: '/' });
  const code = reportError(error, io);
  return { code, stderr: out.stderr };
}

describe('reportError', () => {
  it('maps an unexpected exception to 12 (internal), not 8 (unavailable)', () => {
    const out = report(new TypeError("Cannot read properties of undefined (reading 'x')"));
    expect(out.code).toBe(EXIT.internal);
    expect(out.stderr).toBe("custody: internal error: Cannot read properties of undefined (reading 'x')\n");
  });

  it('maps a refused connection, an AWS service error and a failed dependency to 8 (unavailable)', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });
    const wrapped = new Error('request failed', { cause: refused });
    const service = Object.assign(new Error('not authorized'), {
      name: 'AccessDeniedException',
      $metadata: {},
    });
    for (const error of [
      refused,
      wrapped,
      service,
      new AuditReadError('could not read audit table t'),
      new CustodyNetworkError('no connection'),
    ]) {
      expect(report(error).code, String(error)).toBe(EXIT.unavailable);
    }
  });

  it('says to start the local server when nothing listens on this machine', () => {
    const refused = Object.assign(
      new Error('could not read audit table t: connect ECONNREFUSED 127.0.0.1:8000'),
      {
        code: 'ECONNREFUSED',
      },
    );
    expect(report(refused).stderr).toBe(
      'custody: could not read audit table t: connect ECONNREFUSED 127.0.0.1:8000; if this is the local stack, start it with `npm start`\n',
    );
  });

  it('keeps the API, usage and configuration codes', () => {
    expect(report(new UsageError('--x: bad'))).toEqual({ code: EXIT.usage, stderr: '--x: bad\n' });
    expect(report(new CustodyApiError(403, 'NO_GRANT', 'no grant'))).toEqual({
      code: EXIT.denied,
      stderr: 'custody: denied, NO_GRANT: no grant\n',
    });
    expect(report(new CustodyApiError(503, 'DEPENDENCY_FAILED', 'down')).code).toBe(EXIT.unavailable);
    expect(report(new CustodyApiError(429, 'THROTTLED', 'slow down')).code).toBe(EXIT.rejected);
  });

  it('gives "code failed" and "trail tampered" different codes', () => {
    expect(EXIT.failed).not.toBe(EXIT.tampered);
    expect(new Set(Object.values(EXIT)).size).toBe(Object.keys(EXIT).length);
  });
});
