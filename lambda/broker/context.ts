/**
 * What the broker runs with: the dependencies its composition root (the Lambda handler or the
 * local server) hands it, and the same resolved once, with defaults, for every step.
 */
import type { ArtifactsPort, DatasetsPort } from '../core/datasets.ts';
import type { Deployment } from '../core/deployment.ts';
import { newUlid } from '../core/ids.ts';
import { type MetricsSink, NoopMetrics } from '../core/metrics-sink.ts';
import type { Policy } from '../core/policy.ts';
import type {
  AuditLog,
  AuditStore,
  Clock,
  CredentialsPort,
  ExecutorPort,
  RevocationPort,
  SecretsPort,
} from '../core/ports.ts';
import type { SessionKeyVault, SessionStateStore, SessionStore } from '../core/session.ts';
import { AuditTrail } from './audit-trail.ts';

/** Where sessions (`POST /v1/sessions`) are kept: their records, their sealed state, their keys. */
export interface SessionDeps {
  readonly store: SessionStore;
  readonly state: SessionStateStore;
  readonly vault: SessionKeyVault;
}

/** What the stack deployed for one profile (the policy says what it may do; this says where). */
export interface BrokerDeps {
  policy: Policy;
  deployment: Deployment;
  credentials: CredentialsPort;
  secrets: SecretsPort;
  executor: ExecutorPort;
  auditStore: AuditStore;
  auditLog: AuditLog;
  /**
   * The kill switch (`custody revoke`): read on every execution; a suspended principal or a
   * revoked profile is refused (403), and an unreadable state refuses everything (503).
   * @default - no kill switch
   */
  revocations?: RevocationPort;
  /** Sessions (#15). @default - none: the session routes answer 503 */
  sessions?: SessionDeps;
  /** @default () => new Date() */
  clock?: Clock;
  origin: 'aws' | 'local';
  /** @default NoopMetrics */
  metrics?: MetricsSink;
  /** @default a ULID from the clock */
  newExecutionId?: () => string;
  /** Last-resort sink for an audit record neither the store nor the log took. @default stderr */
  auditFallback?: (line: string) => void;
  /** #16: S3 reads of the profiles' datasets, WITH the call's session. @default none: a request naming datasets fails (503) */
  datasets?: DatasetsPort;
  /** #16: S3 writes of the profiles' output artifacts, WITH the call's session. @default none */
  artifacts?: ArtifactsPort;
}

/** The dependencies with their defaults applied, shared by every step of every request. */
export interface BrokerContext {
  readonly policy: Policy;
  readonly deployment: Deployment;
  readonly credentials: CredentialsPort;
  readonly secrets: SecretsPort;
  readonly executor: ExecutorPort;
  readonly auditStore: AuditStore;
  readonly revocations: RevocationPort | undefined;
  readonly sessions: SessionDeps | undefined;
  readonly clock: Clock;
  readonly origin: 'aws' | 'local';
  readonly metrics: MetricsSink;
  readonly newExecutionId: () => string;
  /** Steps 4 and 9: the store and the log, written so that no record is silently lost. */
  readonly trail: AuditTrail;
  /** #16 */
  readonly datasets: DatasetsPort | undefined;
  readonly artifacts: ArtifactsPort | undefined;
}

export function brokerContext(deps: BrokerDeps): BrokerContext {
  const clock = deps.clock ?? (() => new Date());
  const metrics = deps.metrics ?? new NoopMetrics();
  return {
    policy: deps.policy,
    deployment: deps.deployment,
    credentials: deps.credentials,
    secrets: deps.secrets,
    executor: deps.executor,
    auditStore: deps.auditStore,
    revocations: deps.revocations,
    sessions: deps.sessions,
    clock,
    origin: deps.origin,
    metrics,
    newExecutionId: deps.newExecutionId ?? (() => newUlid(clock())),
    datasets: deps.datasets,
    artifacts: deps.artifacts,
    trail: new AuditTrail({
      store: deps.auditStore,
      log: deps.auditLog,
      metrics,
      ...(deps.auditFallback ? { fallback: deps.auditFallback } : {}),
    }),
  };
}
