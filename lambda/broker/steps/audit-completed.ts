/**
 * Step 9, audit "completed": the run's outcome (or the dependency that failed it) to the store and
 * the audit log, after the `started` line (`logged`), then the run's metrics.
 */
import type { AuditRecord } from '../../core/audit-record.ts';
import { DependencyError } from '../../core/errors.ts';
import { Metric } from '../../core/metrics.ts';
import type { AssumedSession } from '../../core/ports.ts';
import { ALLOWED, type AllowedRun, baseRecord, roleOf, sessionOf } from '../audit-records.ts';
import type { BrokerContext } from '../context.ts';
import { asDependencyError, type ExecutionOutcome } from '../refusal.ts';
import type { Sealed } from '../seal.ts';
import type { PhaseTimings } from '../timings.ts';

const SANDBOX_LIMIT_STATUSES = new Set(['timed_out', 'out_of_memory', 'output_limit']);

/** What steps 9 and 10 need of steps 4 to 8. */
export interface Started extends AllowedRun {
  readonly timings: PhaseTimings;
  /** Settles when the `started` line is in the audit log; every answer waits for it. */
  readonly logged: Promise<boolean>;
}

/** Writes the `completed` record of a run and counts it. Returns whether the record is pending. */
export async function auditCompleted(
  ctx: BrokerContext,
  run: Started,
  session: AssumedSession,
  sealed: Sealed,
  data?: Pick<NonNullable<AuditRecord['outcome']>, 'datasets' | 'artifacts'>,
): Promise<{ pending: boolean }> {
  const { timings } = run;
  const record: AuditRecord = {
    ...baseRecord(ctx, run.executionId, 'completed', run.caller, run.request, ALLOWED),
    role: roleOf(session),
    secretVariables: run.secretVariables,
    outcome: {
      status: sealed.output.status,
      outputSha256: sealed.outputSha256,
      ...(sealed.files.length > 0 ? { files: sealed.files } : {}),
      redactions: sealed.redactions,
      truncated: sealed.output.truncated,
      ...(sealed.output.error ? { errorName: sealed.output.error.name } : {}),
      ...(data?.datasets ? { datasets: data.datasets } : {}),
      ...(data?.artifacts ? { artifacts: data.artifacts } : {}),
    },
    timingsMs: timings.phases,
    ...sessionOf(run),
  };
  const from = timings.instant();
  await run.logged;
  const { pending } = await ctx.trail.finish(record);
  timings.since('auditComplete', from);
  timings.total();

  const { metrics } = ctx;
  metrics.count(Metric.Executions, 1);
  metrics.count(Metric.Redactions, sealed.redactions);
  if (sealed.output.status === 'failed') metrics.count(Metric.UserCodeFailures, 1);
  if (SANDBOX_LIMIT_STATUSES.has(sealed.output.status)) {
    metrics.count(Metric.SandboxLimitHits, 1, { Status: sealed.output.status });
  }
  for (const [phase, ms] of Object.entries(timings.phases)) {
    metrics.milliseconds(Metric.PhaseLatency, ms, { Phase: phase });
  }
  return { pending };
}

/**
 * Writes the `completed` record of status error for a run a dependency failed after its `started`
 * record (STS, secrets, executor), counts the failure, and returns the refusal to answer with.
 */
export async function auditFailed(
  ctx: BrokerContext,
  run: Started,
  session: AssumedSession | undefined,
  error: unknown,
  dependency: string,
): Promise<ExecutionOutcome> {
  const failure = asDependencyError(error, dependency);
  const failedDependency = failure instanceof DependencyError ? failure.dependency : dependency;
  ctx.metrics.count(Metric.DependencyFailures, 1, { Dependency: failedDependency });
  run.timings.total();
  await run.logged;
  const { pending } = await ctx.trail.finish({
    ...baseRecord(ctx, run.executionId, 'completed', run.caller, run.request, ALLOWED),
    ...(session ? { role: roleOf(session) } : {}),
    secretVariables: run.secretVariables,
    outcome: {
      status: 'error',
      redactions: 0,
      truncated: false,
      errorName: failure.code,
      errorMessage: failure.message,
    },
    timingsMs: run.timings.phases,
    ...sessionOf(run),
  });
  return { ran: false, executionId: run.executionId, error: failure, auditPending: pending };
}
