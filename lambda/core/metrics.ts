/**
 * Names of the CloudWatch metrics custody emits (EMF, from the broker) and the dashboard and
 * alarms read. One list, imported by both sides, so a widget can never chart a metric that the
 * code does not emit (a test checks the two match).
 *
 * "Dimension: none" below means none of custody's own: powertools adds `service` (METRIC_SERVICE)
 * to every EMF data point, so CloudWatch stores e.g. `Executions{service=custody-broker}` and
 * `Denials{service, Reason}`. Read them through `lib/custody-metrics.ts`, which adds it.
 */

export const METRIC_NAMESPACE = 'Custody';

/** The broker's service dimension value (powertools `serviceName`). */
export const METRIC_SERVICE = 'custody-broker';

export const Metric = {
  /** One per execution that ran (any sandbox status). Dimension: none. */
  Executions: 'Executions',
  /** One per denied request. Dimension: `Reason` (reason code). Also emitted without dimension. */
  Denials: 'Denials',
  /** One per denial for a hard-coded credential in the code. */
  HardcodedCredentialAttempts: 'HardcodedCredentialAttempts',
  /** One per execution that ended timed_out, out_of_memory or output_limit. Dimension: `Status`. */
  SandboxLimitHits: 'SandboxLimitHits',
  /** One per execution whose user code failed (status failed). */
  UserCodeFailures: 'UserCodeFailures',
  /** Number of secrets injected into an execution. */
  SecretsInjected: 'SecretsInjected',
  /** Number of redactions applied to an execution's output. */
  Redactions: 'Redactions',
  /** Milliseconds per phase. Dimension: `Phase`. */
  PhaseLatency: 'PhaseLatency',
  /** One per audit write that failed (the request is refused before running, or the record is pending). */
  AuditWriteFailures: 'AuditWriteFailures',
  /** One per dependency failure (STS, secrets, executor). Dimension: `Dependency`. */
  DependencyFailures: 'DependencyFailures',
  /** Result of the last audit verification: 1 intact, 0 tampered. Emitted by the verifier. */
  AuditVerificationIntact: 'AuditVerificationIntact',
  /** Records the digester's reconciliation wrote from the audit log into the table. Emitted by the digester. */
  AuditReconciled: 'AuditReconciled',
  /** Records whose table item differs from their audit log line (not overwritten). Emitted by the digester. */
  AuditReconcileConflicts: 'AuditReconcileConflicts',
  /** Records reconciliation could not write, plus one per run that could not read the log. Emitted by the digester. */
  AuditReconcileFailures: 'AuditReconcileFailures',
  /** One per session started (`POST /v1/sessions`). Dimension: none. */
  SessionsStarted: 'SessionsStarted',
  /** One per session ended. Dimension: `Reason` (deleted, expired, revoked). Also emitted without dimension. */
  SessionsEnded: 'SessionsEnded',
  /** A session's length in seconds (value in seconds, unit Count), at its end. Dimension: none. */
  SessionSeconds: 'SessionSeconds',
} as const;

export type MetricName = (typeof Metric)[keyof typeof Metric];

/** The metrics the digester emits (not the broker): the broker's EMF checks skip them. */
export const DIGESTER_METRICS: readonly MetricName[] = [
  Metric.AuditVerificationIntact,
  Metric.AuditReconciled,
  Metric.AuditReconcileConflicts,
  Metric.AuditReconcileFailures,
];

/** Phases of one execution, as timed in `AuditRecord.timingsMs` and `PhaseLatency{Phase}`. */
export const PHASES = [
  'validate',
  'decide',
  'auditStart',
  'assume',
  'secrets',
  'datasets',
  'execute',
  'seal',
  'auditComplete',
  'total',
] as const;
export type Phase = (typeof PHASES)[number];
