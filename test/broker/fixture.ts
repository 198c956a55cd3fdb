/** A broker wired to in-memory ports, with a policy shaped like the shipped example. */
import {
  type BrokerDeps,
  type CallerIdentity,
  createBrokerApi,
  type Deployment,
} from '../../lambda/broker/api.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { InMemoryMetrics } from '../../lambda/core/metrics-sink.ts';
import { parsePolicy } from '../../lambda/core/policy.ts';
import { FakeCredentials, FakeExecutor, FakeSecrets, MemoryAuditLog, MemoryAuditStore } from './fakes.ts';

export const ACCOUNT = '111122223333';
const NOW = new Date('2030-01-01T12:00:00Z');
export const REPORT_TOKEN = 'rpt-token-7Hq2Xk9Lm4Vz';
export const REPORT_SECRET_ARN = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:custody/reports/api-token-AbCdEf`;

export const policyDocument = {
  version: 1,
  api: { allowedAccounts: [ACCOUNT] },
  profiles: {
    sandbox: {
      description: 'General-purpose computation.',
      languages: ['python', 'javascript', 'typescript'],
    },
    reports: {
      description: 'Reads the report API token.',
      languages: ['python', 'javascript'],
      timeoutMs: 30_000,
      secrets: [{ variable: 'REPORT_API_TOKEN', secretName: 'custody/reports/api-token' }],
      auditCode: 'digest',
    },
    later: { languages: ['python'] },
  },
  principals: [
    {
      id: 'agent',
      arn: `arn:aws:iam::${ACCOUNT}:role/custody-agent`,
      grants: [
        { profile: 'sandbox' },
        { profile: 'reports' },
        { profile: 'later', notBefore: '2031-01-01T00:00:00Z' },
      ],
    },
    { id: 'auditor', arn: `arn:aws:iam::${ACCOUNT}:role/custody-auditor`, auditor: true, grants: [] },
    { id: 'stranger', arn: `arn:aws:iam::${ACCOUNT}:user/stranger`, grants: [] },
    { id: 'other', arn: `arn:aws:iam::${ACCOUNT}:role/other-agent`, grants: [{ profile: 'sandbox' }] },
  ],
};

export const deployment: Deployment = {
  profiles: {
    sandbox: {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/custody/custody-exec-sandbox`,
      executorArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:custody-executor-sandbox`,
      secrets: {},
    },
    reports: {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/custody/custody-exec-reports`,
      executorArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:custody-executor-reports`,
      secrets: { REPORT_API_TOKEN: REPORT_SECRET_ARN },
    },
    later: {
      roleArn: `arn:aws:iam::${ACCOUNT}:role/custody/custody-exec-later`,
      executorArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:custody-executor-later`,
      secrets: {},
    },
  },
};

export const callers = {
  agent: {
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-agent/agent-session-1`,
    accountId: ACCOUNT,
    accessKeyId: 'ASIAAGENTSESSION0001',
    sourceIp: '198.51.100.7',
    userAgent: 'custody-cli/0.1',
  },
  agentOtherSession: {
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-agent/agent-session-2`,
    accountId: ACCOUNT,
  },
  auditor: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/custody-auditor/alice`, accountId: ACCOUNT },
  stranger: { arn: `arn:aws:iam::${ACCOUNT}:user/stranger`, accountId: ACCOUNT },
  other: { arn: `arn:aws:sts::${ACCOUNT}:assumed-role/other-agent/x1`, accountId: ACCOUNT },
  foreign: { arn: 'arn:aws:sts::444455556666:assumed-role/custody-agent/s', accountId: '444455556666' },
} satisfies Record<string, CallerIdentity>;

export function brokerFixture(overrides: Partial<BrokerDeps> = {}) {
  const store = new MemoryAuditStore();
  const log = new MemoryAuditLog();
  const credentials = new FakeCredentials();
  const secrets = new FakeSecrets();
  secrets.values[REPORT_SECRET_ARN] = REPORT_TOKEN;
  const executor = new FakeExecutor();
  const metrics = new InMemoryMetrics();
  const fallbackLines: string[] = [];
  let next = 0;
  const deps: BrokerDeps = {
    policy: parsePolicy(policyDocument),
    deployment,
    credentials,
    secrets,
    executor,
    auditStore: store,
    auditLog: log,
    clock: () => NOW,
    origin: 'aws',
    metrics,
    newExecutionId: () => `01HZX3K7R8M9N0P1Q2R3S4T${String(next++).padStart(3, '0')}`,
    auditFallback: (line) => fallbackLines.push(line),
    ...overrides,
  };
  const api = createBrokerApi(deps);
  return { api, store, log, credentials, secrets, executor, metrics, fallbackLines, deps };
}

export function post(caller: CallerIdentity, body: unknown) {
  return {
    method: 'POST',
    path: '/v1/executions',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    caller,
  };
}

/** A request `sandbox` allows the agent. */
export const run = {
  profile: 'sandbox',
  language: 'python',
  code: 'print(1 + 1)',
  purpose: 'add two numbers',
};

export function body<T = Record<string, unknown>>(res: { body: string }): T {
  return JSON.parse(res.body) as T;
}

export function errorOf(res: { body: string }) {
  return body<{ error: { code: string; message: string; executionId?: string; auditPending?: boolean } }>(res)
    .error;
}

export const events = (records: AuditRecord[]) => records.map((r) => r.event);
