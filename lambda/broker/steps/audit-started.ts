/**
 * Step 4, audit "started": the conditional put that must succeed before anything runs
 * (`AuditTrail.start`: a DependencyError('audit') if the store did not take it). It resolves once
 * the store has the record; its `logged` settles when the audit log has the line too.
 */
import { ALLOWED, type AllowedRun, baseRecord, sessionOf } from '../audit-records.ts';
import type { BrokerContext } from '../context.ts';

export function auditStarted(ctx: BrokerContext, run: AllowedRun): Promise<{ logged: Promise<boolean> }> {
  return ctx.trail.start({
    ...baseRecord(ctx, run.executionId, 'started', run.caller, run.request, ALLOWED),
    secretVariables: run.secretVariables,
    ...sessionOf(run),
  });
}
