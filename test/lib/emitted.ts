/**
 * What custody really emits, for the tests that check the dashboard, alarms, queries and rules
 * against it: the real broker core, wired to in-memory ports (test/broker/fixture.ts) but with the
 * production EMF sink, driven through every path that counts something (runs, each sandbox
 * status, denials, a hard-coded credential, an edge denial, each failing dependency, a failing
 * audit write), plus a kill-switch record as `custody revoke` builds it. Returns the EMF documents
 * printed and the audit log lines written.
 */
import { vi } from 'vitest';
import { EmfMetrics } from '../../lambda/adapters/aws/emf-metrics.ts';
import { recordLine, verificationLine } from '../../lambda/audit/audit-log-line.ts';
import type { CallerIdentity } from '../../lambda/broker/api.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { revocationRecord } from '../../lambda/core/revocation-record.ts';
import type { SandboxStatus } from '../../lambda/core/types.ts';
import { sandboxResult } from '../broker/fakes.ts';
import { brokerFixture, callers, deployment, post, REPORT_TOKEN } from '../broker/fixture.ts';
import { sessionFixture } from '../broker/sessions/fixture.ts';

/** One metric data point as CloudWatch stores it: namespace, name and the exact dimension set. */
export interface EmittedMetric {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
}

export interface Emitted {
  readonly metrics: readonly EmittedMetric[];
  /** Audit records the broker stored, in write order. */
  readonly records: readonly AuditRecord[];
  /** The audit log lines: each record as `recordLine` writes it, plus a verification line. */
  readonly logLines: readonly string[];
}

interface EmfDocument {
  readonly _aws: {
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: ReadonlyArray<{ readonly Name: string }>;
    }>;
  };
  readonly [key: string]: unknown;
}

/** The metric data points in EMF output (one JSON document per line). */
export function parseEmf(output: string): EmittedMetric[] {
  const found: EmittedMetric[] = [];
  for (const line of output.split('\n')) {
    if (!line.includes('"_aws"')) continue;
    const doc = JSON.parse(line) as EmfDocument;
    for (const directive of doc._aws.CloudWatchMetrics) {
      for (const dimensionSet of directive.Dimensions) {
        const dimensions = Object.fromEntries(dimensionSet.map((key) => [key, String(doc[key])]));
        for (const metric of directive.Metrics) {
          found.push({ namespace: directive.Namespace, name: metric.Name, dimensions });
        }
      }
    }
  }
  return found;
}

const run = { profile: 'sandbox', language: 'python', code: 'print(1 + 1)', purpose: 'add two numbers' };

async function scenarios(emit: () => EmfMetrics): Promise<AuditRecord[]> {
  const records: AuditRecord[] = [];
  const broker = (overrides: Parameters<typeof brokerFixture>[0] = {}) =>
    brokerFixture({ metrics: emit(), ...overrides });
  const go = async (f: ReturnType<typeof broker>, body: unknown, caller: CallerIdentity = callers.agent) => {
    const res = await f.api.handle(post(caller, body));
    if (res.statusCode >= 500 && res.statusCode !== 503) throw new Error(`scenario broke: ${res.body}`);
    records.push(...f.store.records);
  };

  // Runs: every sandbox status, and a profile with a secret the code echoes (redactions).
  const statuses: SandboxStatus[] = ['succeeded', 'failed', 'timed_out', 'out_of_memory', 'output_limit'];
  for (const status of statuses) {
    const f = broker();
    f.executor.respond = () =>
      sandboxResult(
        status === 'failed'
          ? ({
              status,
              error: { name: 'ZeroDivisionError', message: 'division by zero', traceback: 'line 1' },
            } as never)
          : ({ status } as never),
      );
    await go(f, run);
  }
  const secret = broker();
  secret.executor.respond = () => sandboxResult({ stdout: `token=${REPORT_TOKEN}\n` });
  await go(secret, { ...run, profile: 'reports' });

  // Denials: no grant, unknown principal, a hard-coded credential, a request refused at the edge.
  await go(broker(), run, callers.stranger);
  await go(broker(), run, callers.foreign);
  await go(broker(), { ...run, code: `k = "${'AKIA'}Q3EGRJ7XZ2LMNPTW"` });
  const edge = broker();
  await edge.api.recordEdgeDenial({
    caller: { arn: '', sourceIp: '203.0.113.9' },
    reason: 'SIGNATURE_MISMATCH',
    message: 'The request signature does not match.',
    method: 'POST',
    path: '/v1/executions',
  });
  records.push(...edge.store.records);

  // Failures: each dependency, a profile the stack has not deployed, the audit store.
  const sts = broker();
  sts.credentials.failWith = new Error('AccessDenied');
  await go(sts, run);
  const secrets = broker();
  secrets.secrets.failWith = new Error('ResourceNotFoundException');
  await go(secrets, { ...run, profile: 'reports' });
  const executor = broker();
  executor.executor.failWith = new Error('ServiceException');
  await go(executor, run);
  const { sandbox: _dropped, ...otherProfiles } = deployment.profiles;
  await go(broker({ deployment: { profiles: otherProfiles } }), run);
  const audit = broker();
  audit.store.failPutsOf('started');
  await go(audit, run);

  // A session (#15): started, one call, ended by DELETE: its metrics and its records.
  const session = sessionFixture({ metrics: emit() });
  try {
    const started = await session.start(callers.agent, { profile: 'sandbox' });
    const { sessionId } = JSON.parse(started.body) as { sessionId: string };
    await session.run(callers.agent, sessionId);
    await session.end(callers.agent, sessionId);
  } finally {
    session.removeVault();
  }
  records.push(...session.store.records);
  return records;
}

let cached: Promise<Emitted> | undefined;

/** Runs the scenarios once per test file and returns what they emitted. */
export function emitted(): Promise<Emitted> {
  cached ??= (async () => {
    const writes: string[] = [];
    const spies = [
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
        writes.push(String(chunk));
        return true;
      }),
      vi.spyOn(console, 'log').mockImplementation((line: unknown) => {
        writes.push(`${String(line)}\n`);
      }),
      // powertools warns on stderr when a request flushes no undimensioned metric; not a failure.
      vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
    ];
    let records: AuditRecord[];
    try {
      records = await scenarios(() => new EmfMetrics());
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    const verification = verificationLine(
      {
        ok: false,
        records: 2,
        digests: 1,
        uncovered: 0,
        scope: 'recent',
        lastDigest: { sequence: 7 },
        problem: {
          kind: 'modified',
          executionId: '01HZX3K7R8M9N0P1Q2R3S4T000',
          event: 'completed',
          digestSequence: 7,
          message: 'record hash differs from the digest',
        },
      },
      new Date('2030-01-01T12:05:00Z'),
    );
    // A kill-switch action, as `custody revoke` records it.
    records.push(
      revocationRecord({
        action: 'revoked',
        actionId: '01HZX3K7R8M9N0P1Q2R3S4TREV',
        at: new Date('2030-01-01T12:01:00Z'),
        operator: {
          arn: 'arn:aws:sts::111122223333:assumed-role/security-oncall/alice',
          accountId: '111122223333',
        },
        revocation: {
          scope: 'profile',
          target: 'reports',
          reason: 'token leaked',
          sessionsIssuedBefore: '2030-01-01T12:01:00.000Z',
          roleName: 'custody-exec-reports',
        },
        origin: 'aws',
      }),
    );
    return {
      metrics: parseEmf(writes.join('')),
      records,
      logLines: [...records.map(recordLine), verification],
    };
  })();
  return cached;
}

/** `a.b.c` for every value (leaf or object) in a JSON object; array items are not descended into. */
function jsonPaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, v]) => {
    const path = prefix ? `${prefix}.${key}` : key;
    return [path, ...jsonPaths(v, path)];
  });
}

/** Every field path present in at least one audit log line. */
export function logLinePaths(lines: readonly string[]): Set<string> {
  return new Set(lines.flatMap((line) => jsonPaths(JSON.parse(line))));
}

/** Whether a metric with this name and exactly these dimensions was emitted. */
export function wasEmitted(
  metrics: readonly EmittedMetric[],
  namespace: string,
  name: string,
  dimensions: Readonly<Record<string, string>>,
): boolean {
  const wanted = JSON.stringify(Object.entries(dimensions).sort());
  return metrics.some(
    (m) =>
      m.namespace === namespace &&
      m.name === name &&
      JSON.stringify(Object.entries(m.dimensions).sort()) === wanted,
  );
}

/** Whether `name` was emitted with exactly these dimension names (any values). */
export function wasEmittedWithDimensionNames(
  metrics: readonly EmittedMetric[],
  namespace: string,
  name: string,
  dimensionNames: readonly string[],
): boolean {
  const wanted = JSON.stringify([...dimensionNames].sort());
  return metrics.some(
    (m) =>
      m.namespace === namespace &&
      m.name === name &&
      JSON.stringify(Object.keys(m.dimensions).sort()) === wanted,
  );
}
