/**
 * The read side of the API: GET /v1/executions/{id} (the records of one execution, to its own
 * caller or an auditor) and GET /v1/profiles (what this caller may use now).
 */
import type { AuditRecord } from '../core/audit-record.ts';
import { DeniedError, DependencyError, NotFoundError } from '../core/errors.ts';
import type { CallerIdentity } from './caller.ts';
import type { BrokerContext } from './context.ts';
import { usableProfiles } from './decision.ts';
import { identify } from './identity.ts';
import { suspendedError } from './refusal.ts';
import { readRevocations } from './revocation-check.ts';

/**
 * The records of one execution. A caller sees its own executions, an auditor every one; anyone
 * else gets the same NotFoundError as for an execution that does not exist.
 */
export async function executionRecords(
  ctx: BrokerContext,
  caller: CallerIdentity,
  executionId: string,
): Promise<AuditRecord[]> {
  const notFound = new NotFoundError(`No execution ${executionId} visible to the caller.`);
  const identity = identify(ctx.policy, caller);
  if (!identity.matched || !/^[\w-]{1,64}$/.test(executionId)) throw notFound;
  let records: AuditRecord[];
  try {
    records = await ctx.auditStore.get(executionId);
  } catch (error) {
    throw new DependencyError('audit', 'The audit store is unavailable.', { cause: error });
  }
  const { principal } = identity;
  const own = records.some((r) => r.caller.principalArn === principal.arn);
  if (records.length === 0 || !(own || principal.auditor)) throw notFound;
  return records;
}

/** The profiles the caller holds a grant for now, minus revoked ones; refuses a suspended principal. */
export async function profilesFor(ctx: BrokerContext, caller: CallerIdentity) {
  const { policy } = ctx;
  const identity = identify(policy, caller);
  if (!identity.matched) throw new DeniedError(identity.reason, identity.message);
  const { principal } = identity;
  const usable = usableProfiles(policy, principal, ctx.clock());
  const read = await readRevocations(ctx, principal.id, usable);
  if (read.principal?.revoked) throw suspendedError(principal.id, read.principal.revokedAt);
  const names = usable.filter((_, i) => !read.profiles[i]?.revoked);
  return names.map((name) => {
    const p = policy.profiles[name];
    if (!p) throw new Error(`profile ${name} vanished`);
    return {
      name,
      description: p.description,
      languages: p.languages,
      limits: {
        timeoutMs: p.timeoutMs,
        memoryMiB: p.memoryMiB,
        maxCodeBytes: p.maxCodeBytes,
        maxOutputBytes: p.maxOutputBytes,
      },
      secretVariables: p.secrets.map((s) => s.variable),
      approvedCode: p.approvedCode.mode,
      auditCode: p.auditCode,
      packages: { python: p.python.packages, javascript: p.javascript.packages },
    };
  });
}
