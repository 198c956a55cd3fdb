/**
 * A request refused before its code ran: one `denied` record, counted, and the typed error the HTTP
 * mapping turns into a status. Also the errors a refusal is made of.
 */

import type { ExecutionResponse } from '../core/api-schema.ts';
import type { AuditCaller, AuditRecord, AuditSession } from '../core/audit-record.ts';
import { CustodyError, DeniedError, DependencyError } from '../core/errors.ts';
import { Metric } from '../core/metrics.ts';
import { auditRequest, baseRecord } from './audit-records.ts';
import type { BrokerContext } from './context.ts';
import { storableText } from './credential-scan.ts';
import type { ExecutionRequest } from './request.ts';

/** What POST /v1/executions came to: a run (whatever its code did), or an error before or around it. */
export type ExecutionOutcome =
  | { readonly ran: true; readonly executionId: string; readonly body: ExecutionResponse }
  | {
      readonly ran: false;
      readonly executionId: string;
      readonly error: CustodyError;
      /** The store did not take the request's last record (the audit log, or the fallback, has it). */
      readonly auditPending: boolean;
    };

/**
 * Writes the `denied` record of a refused request and counts it. `log only`: the store has just
 * refused this request's `started` record, so the refusal goes to the audit log alone (pending).
 */
export async function refuse(
  ctx: BrokerContext,
  refusal: {
    readonly executionId: string;
    readonly caller: AuditCaller;
    readonly request: Partial<ExecutionRequest> | undefined;
    readonly error: CustodyError;
    readonly timingsMs: Readonly<Record<string, number>>;
    /** A refused call (or start) of a session. */
    readonly session?: AuditSession;
  },
  where: 'store and log' | 'log only' = 'store and log',
): Promise<ExecutionOutcome> {
  const { executionId, error } = refusal;
  const record: AuditRecord = {
    ...baseRecord(ctx, executionId, 'denied', refusal.caller, auditRequest(refusal.request, false), {
      allowed: false,
      reason: error.code,
      message: storableText(error.message),
    }),
    timingsMs: refusal.timingsMs,
    ...(refusal.session ? { session: refusal.session } : {}),
  };
  ctx.metrics.count(Metric.Denials, 1);
  ctx.metrics.count(Metric.Denials, 1, { Reason: error.code });
  if (error.code === 'HARDCODED_CREDENTIAL') ctx.metrics.count(Metric.HardcodedCredentialAttempts, 1);
  const { pending } =
    where === 'log only' ? await ctx.trail.refuseInLog(record) : await ctx.trail.finish(record);
  return { ran: false, executionId, error, auditPending: pending };
}

/** Wraps anything an adapter threw into a CustodyError naming the dependency (fail closed). */
export function asDependencyError(error: unknown, dependency: string): CustodyError {
  if (error instanceof CustodyError) return error;
  return new DependencyError(
    dependency,
    `The ${dependency} service failed; the execution did not complete.`,
    {
      cause: error,
    },
  );
}

export function suspendedError(principalId: string, revokedAt: string): DeniedError {
  return new DeniedError(
    'PRINCIPAL_SUSPENDED',
    `The grants of principal "${principalId}" were suspended at ${revokedAt}; nothing runs for it until an operator reinstates it.`,
  );
}

export function revokedError(profileName: string, revokedAt: string): DeniedError {
  return new DeniedError(
    'PROFILE_REVOKED',
    `Profile "${profileName}" was revoked at ${revokedAt}; nothing runs under it until an operator reinstates it.`,
  );
}
