/**
 * The scheduled digest Lambda (EventBridge, every 5 minutes): writes the signed digests that have
 * come due (KMS key, table, audit log group), then verifies the last hour of digests and records
 * the outcome — `AuditVerificationIntact` (1 intact, 0 tampered) as an EMF metric and an
 * `auditVerification` line in the audit log group — for the dashboard and the alarm.
 *
 * Before it digests, it reconciles (`scheduled-reconcile.ts`): the record lines of the audit log
 * group's last `RECONCILE_WINDOW_MS` (FilterLogEvents) that the table lacks are written to it, so
 * records the broker left `auditPending` enter the table and the digest. Counts go to the
 * `AuditReconciled`, `AuditReconcileConflicts` and `AuditReconcileFailures` metrics and one JSON
 * line in the function's log; a conflict also sets `AuditVerificationIntact` to 0 (the
 * verification alarm). Reconciliation never stops the digest.
 *
 * Tampering is a result (metric 0, problem logged), not a crash; infrastructure failure (table,
 * KMS, logs unreachable) throws so the invocation fails and Lambda's Errors metric shows it.
 *
 * Environment (read once, at cold start):
 *   CUSTODY_AUDIT_TABLE        the audit table
 *   CUSTODY_AUDIT_SIGNING_KEY_ID    KMS key id/ARN (ECC_NIST_P256, SIGN_VERIFY)
 *   CUSTODY_AUDIT_LOG_GROUP    the audit log group
 *   CUSTODY_AUDIT_SETTLE_MS         optional, @default 60000
 *   CUSTODY_AUDIT_TIME_SHARDS       optional, @default 1 (must match the broker's store)
 */

import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { CloudWatchAuditLog } from '../adapters/aws/cloudwatch-audit-log.ts';
import { type DigestRunSkipped, withDigestLease } from '../adapters/aws/digest-lease.ts';
import { DynamoDbAuditChain } from '../adapters/aws/dynamodb-audit-chain.ts';
import { DynamoDbAuditStore } from '../adapters/aws/dynamodb-audit-store.ts';
import { KmsAuditSigner } from '../adapters/aws/kms-audit-signer.ts';
import { type AuditLineLog, verificationLine } from '../audit/audit-log-line.ts';
import { AuditChainError, digestUntilCurrent } from '../audit/create-digest.ts';
import {
  RECONCILE_WINDOW_MS,
  reconcileBeforeDigest,
  type ScheduledReconcileSummary,
} from '../audit/scheduled-reconcile.ts';
import { verifyChain } from '../audit/verify-chain.ts';
import type { VerifyResult } from '../audit/verify-result.ts';
import type { AuditSigner } from '../core/audit-signer.ts';
import { DIGESTER_ENV } from '../core/env-names.ts';
import { METRIC_NAMESPACE, METRIC_SERVICE, Metric, type MetricName } from '../core/metrics.ts';
import type { Clock } from '../core/ports.ts';

export interface DigestHandlerDeps {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly signer: AuditSigner;
  readonly log: AuditLineLog;
  /** Records one metric value (EMF on AWS). */
  readonly emitMetric: (name: MetricName, value: number) => void;
  /**
   * Reconciliation before each digest: the audit log's record lines written since a date (the
   * audit log group on AWS). Absent: no reconciliation.
   */
  readonly reconcileFrom?: (since: Date) => Iterable<string> | AsyncIterable<string>;
  /** How far back reconciliation reads. @default RECONCILE_WINDOW_MS (30 minutes) */
  readonly reconcileWindowMs?: number;
  /** Receives the reconciliation's report line. @default console.log (the function's log group) */
  readonly report?: (line: string) => void;
  readonly clock?: Clock;
  readonly settleMs?: number;
  readonly timeShards?: number;
  readonly genesis?: Date;
  /** Digests verified after each run. @default 12 (an hour at 5-minute periods) */
  readonly verifyRecentDigests?: number;
}

export interface DigestRunSummary {
  readonly digestsWritten: number;
  readonly lastSequence?: number;
  readonly reconcile?: ScheduledReconcileSummary;
  readonly verification: { readonly ok: boolean; readonly kind?: string; readonly message?: string };
}

export function createDigestHandler(deps: DigestHandlerDeps): () => Promise<DigestRunSummary> {
  return async () => {
    const clock = deps.clock ?? (() => new Date());
    const table = new DynamoDbAuditChain({
      client: deps.client,
      tableName: deps.tableName,
      ...(deps.timeShards === undefined ? {} : { timeShards: deps.timeShards }),
    });
    const reconcile = deps.reconcileFrom === undefined ? undefined : await reconcileFirst(deps, clock);
    let written: Awaited<ReturnType<typeof digestUntilCurrent>>;
    try {
      written = await digestUntilCurrent({
        table,
        clock,
        signer: deps.signer,
        log: deps.log,
        ...(deps.settleMs === undefined ? {} : { settleMs: deps.settleMs }),
        ...(deps.genesis === undefined ? {} : { genesis: deps.genesis }),
      });
    } catch (error) {
      if (error instanceof AuditChainError) {
        // The chain's head is tampered: say so where people look, then fail the invocation.
        deps.emitMetric(Metric.AuditVerificationIntact, 0);
        await deps.log.writeLine(
          verificationLine(
            {
              ok: false,
              records: 0,
              digests: 0,
              scope: 'recent',
              problem: { kind: 'signature_invalid', message: error.message },
            },
            clock(),
          ),
        );
      }
      throw error;
    }
    const result: VerifyResult = await verifyChain({
      table,
      clock,
      signer: deps.signer,
      recentDigests: deps.verifyRecentDigests ?? 12,
    });
    deps.emitMetric(Metric.AuditVerificationIntact, result.ok ? 1 : 0);
    // A conflict is a table record that differs from its log line: the verification alarm hears it.
    if (reconcile !== undefined && reconcile.conflicts > 0)
      deps.emitMetric(Metric.AuditVerificationIntact, 0);
    await deps.log.writeLine(verificationLine(result, clock()));
    const last = written.at(-1);
    return {
      digestsWritten: written.length,
      ...(last === undefined ? {} : { lastSequence: last.body.sequence }),
      ...(reconcile === undefined ? {} : { reconcile }),
      verification: result.ok
        ? { ok: true }
        : { ok: false, kind: result.problem.kind, message: result.problem.message },
    };
  };
}

async function reconcileFirst(deps: DigestHandlerDeps, clock: Clock): Promise<ScheduledReconcileSummary> {
  const store = new DynamoDbAuditStore({
    client: deps.client,
    tableName: deps.tableName,
    clock,
    ...(deps.timeShards === undefined ? {} : { timeShards: deps.timeShards }),
  });
  const summary = await reconcileBeforeDigest({
    store,
    listStored: (from) => store.listWrittenBetween(from, new Date(clock().getTime() + 1)),
    readLines: deps.reconcileFrom as (since: Date) => AsyncIterable<string>,
    since: new Date(clock().getTime() - (deps.reconcileWindowMs ?? RECONCILE_WINDOW_MS)),
    report: deps.report ?? ((line) => console.log(line)),
  });
  deps.emitMetric(Metric.AuditReconciled, summary.written);
  deps.emitMetric(Metric.AuditReconcileConflicts, summary.conflicts);
  deps.emitMetric(Metric.AuditReconcileFailures, summary.failed);
  return summary;
}

function requiredEnv(name: string): string {
  const value = process.env[name];
  if (value === undefined || value.trim() === '') {
    throw new Error(`the digest function needs the environment variable ${name}`);
  }
  return value;
}

function optionalIntEnv(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`environment variable ${name} must be a whole number, got '${value}'`);
  return n;
}

let configured: (() => Promise<DigestRunSummary | DigestRunSkipped>) | undefined;

function fromEnvironment(): () => Promise<DigestRunSummary | DigestRunSkipped> {
  const tableName = requiredEnv(DIGESTER_ENV.table);
  const keyId = requiredEnv(DIGESTER_ENV.signingKeyId);
  const logGroupName = requiredEnv(DIGESTER_ENV.logGroup);
  const settleMs = optionalIntEnv(DIGESTER_ENV.settleMs);
  const timeShards = optionalIntEnv(DIGESTER_ENV.timeShards);
  const metrics = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE });
  const client = new DynamoDBClient({});
  const log = new CloudWatchAuditLog({ client: new CloudWatchLogsClient({}), logGroupName });
  const run = createDigestHandler({
    client,
    tableName,
    signer: new KmsAuditSigner({ client: new KMSClient({}), keyId }),
    log,
    reconcileFrom: (since) => log.readRecordLines({ since }),
    emitMetric: (name, value) => {
      metrics.addMetric(name, MetricUnit.Count, value);
      metrics.publishStoredMetrics();
    },
    ...(settleMs === undefined ? {} : { settleMs }),
    ...(timeShards === undefined ? {} : { timeShards }),
  });
  // One digester at a time (lambda/adapters/aws/digest-lease.ts), instead of a reserved concurrency of 1.
  return withDigestLease(run, { client, tableName });
}

export async function handler(): Promise<DigestRunSummary | DigestRunSkipped> {
  configured ??= fromEnvironment();
  return configured();
}
