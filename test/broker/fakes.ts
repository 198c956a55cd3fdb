/**
 * In-memory ports for broker tests. Each can be told to fail, so every fail-closed path runs
 * against the real broker core.
 */
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import type {
  AssumedSession,
  AssumeRoleInput,
  AuditLog,
  AuditStore,
  CredentialsPort,
  ExecutionContext,
  ExecutorPort,
  SecretRef,
  SecretsPort,
} from '../../lambda/core/ports.ts';
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';

/** A conditional store: a second put of the same execution and event is refused, like DynamoDB's. */
export class MemoryAuditStore implements AuditStore {
  readonly records: AuditRecord[] = [];
  /** event ('started', 'completed', 'denied') -> how many more puts of it fail. */
  private readonly failures = new Map<string, number>();
  failGets = false;
  putAttempts = 0;

  /** Makes the next `times` puts of `event` throw (default: all of them). */
  failPutsOf(event: AuditRecord['event'], times = Number.POSITIVE_INFINITY): void {
    this.failures.set(event, times);
  }

  async put(record: AuditRecord): Promise<void> {
    this.putAttempts++;
    const remaining = this.failures.get(record.event) ?? 0;
    if (remaining > 0) {
      this.failures.set(record.event, remaining - 1);
      throw Object.assign(new Error('ProvisionedThroughputExceededException'), {
        name: 'ProvisionedThroughputExceededException',
      });
    }
    if (this.records.some((r) => r.executionId === record.executionId && r.event === record.event)) {
      throw Object.assign(new Error('conditional check failed'), { name: 'ConditionalCheckFailedException' });
    }
    this.records.push(structuredClone(record));
  }

  async get(executionId: string): Promise<AuditRecord[]> {
    if (this.failGets) throw new Error('store unreachable');
    return this.records.filter((r) => r.executionId === executionId);
  }
}

export class MemoryAuditLog implements AuditLog {
  readonly lines: string[] = [];
  fail = false;

  async write(record: AuditRecord): Promise<void> {
    if (this.fail) throw new Error('log group unreachable');
    this.lines.push(JSON.stringify(record));
  }

  get records(): AuditRecord[] {
    return this.lines.map((line) => JSON.parse(line) as AuditRecord);
  }
}

export const SESSION_KEYS = {
  accessKeyId: 'ASIAFAKESESSIONKEY01',
  secretAccessKey: 'session-secret-access-key-for-tests-only',
  sessionToken: 'session-token-for-tests-only',
};

export class FakeCredentials implements CredentialsPort {
  readonly calls: AssumeRoleInput[] = [];
  failWith: Error | undefined;

  async assumeRole(input: AssumeRoleInput): Promise<AssumedSession> {
    this.calls.push(input);
    if (this.failWith) throw this.failWith;
    const roleName = input.roleArn.split('/').at(-1) ?? 'role';
    return {
      credentials: { ...SESSION_KEYS, expiration: new Date(Date.now() + 900_000) },
      roleArn: input.roleArn,
      assumedRoleArn: `arn:aws:sts::111122223333:assumed-role/${roleName}/${input.sessionName}`,
      sessionName: input.sessionName,
      sourceIdentity: input.sourceIdentity,
    };
  }
}

export class FakeSecrets implements SecretsPort {
  readonly calls: { session: AssumedSession; secrets: readonly SecretRef[]; context?: ExecutionContext }[] =
    [];
  values: Record<string, string> = {};
  failWith: Error | undefined;

  async read(
    session: AssumedSession,
    secrets: readonly SecretRef[],
    context?: ExecutionContext,
  ): Promise<Record<string, string>> {
    this.calls.push({ session, secrets, ...(context ? { context } : {}) });
    if (this.failWith) throw this.failWith;
    const out: Record<string, string> = {};
    for (const s of secrets) {
      const value = this.values[s.secretId];
      if (value === undefined) throw new Error(`no secret ${s.secretId}`);
      out[s.variable] = value;
    }
    return out;
  }
}

export function sandboxResult(overrides: Partial<SandboxResult> = {}): SandboxResult {
  return {
    status: 'succeeded',
    stdout: 'hello\n',
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    files: {},
    filesTruncated: false,
    timings: { startMs: 1, runMs: 12 },
    ...overrides,
  } as SandboxResult;
}

export class FakeExecutor implements ExecutorPort {
  readonly calls: {
    session: AssumedSession;
    profile: string;
    request: SandboxRequest;
    context?: ExecutionContext;
  }[] = [];
  /** Builds the answer from the request (e.g. echo a secret); default: a plain success. */
  respond: (request: SandboxRequest) => SandboxResult = () => sandboxResult();
  failWith: Error | undefined;

  async run(
    session: AssumedSession,
    profile: string,
    request: SandboxRequest,
    context?: ExecutionContext,
  ): Promise<SandboxResult> {
    this.calls.push({ session, profile, request, ...(context ? { context } : {}) });
    if (this.failWith) throw this.failWith;
    return this.respond(request);
  }
}

/** A promise and its resolve, to order events in a test without sleeping. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Resolves on the next turn of the event loop, once every promise job queued before it has run:
 * whatever the code under test can do without the awaited event has been done by then.
 */
export function idle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
