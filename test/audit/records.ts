/** Audit records for tests, and a clock the tests move by hand. */
import type { AuditEvent, AuditRecord } from '../../lambda/core/audit-record.ts';

export function auditRecord(
  executionId: string,
  event: AuditEvent,
  timestamp: Date,
  callerName = 'agent',
): AuditRecord {
  const caller = {
    arn: `arn:aws:sts::111122223333:assumed-role/${callerName}/session-1`,
    accountId: '111122223333',
  };
  if (event === 'denied') {
    return {
      schemaVersion: 1,
      executionId,
      event,
      timestamp: timestamp.toISOString(),
      caller,
      request: { profile: 'remediation', language: 'python', codeSha256: 'b'.repeat(64), codeBytes: 42 },
      decision: { allowed: false, reason: 'NO_GRANT', message: 'no grant for profile remediation' },
      origin: 'local',
    };
  }
  return {
    schemaVersion: 1,
    executionId,
    event,
    timestamp: timestamp.toISOString(),
    caller,
    request: { profile: 'sandbox', language: 'javascript', codeSha256: 'a'.repeat(64), codeBytes: 12 },
    decision: { allowed: true, reason: 'ALLOWED' },
    role: {
      arn: 'arn:aws:iam::111122223333:role/custody-sandbox',
      assumedRoleArn: `arn:aws:sts::111122223333:assumed-role/custody-sandbox/${executionId}`,
      sessionName: executionId,
      sourceIdentity: callerName,
    },
    ...(event === 'completed'
      ? {
          outcome: {
            status: 'succeeded' as const,
            outputSha256: 'c'.repeat(64),
            redactions: 0,
            truncated: false,
          },
        }
      : {}),
    origin: 'local',
  };
}

/** A clock that stands still until the test moves it. */
export class ManualClock {
  private nowMs: number;

  constructor(start: Date) {
    this.nowMs = start.getTime();
  }

  readonly now = (): Date => new Date(this.nowMs);

  advance(ms: number): Date {
    this.nowMs += ms;
    return this.now();
  }
}
