/**
 * A request the edge refused before the broker saw it (a bad signature, an oversized body): one
 * `denied` record, as CloudTrail and the access log would show it on AWS.
 */
import { Metric } from '../core/metrics.ts';
import { auditCaller, baseRecord } from './audit-records.ts';
import type { CallerIdentity } from './caller.ts';
import type { BrokerContext } from './context.ts';
import { storableText } from './credential-scan.ts';
import { identify } from './identity.ts';

export interface EdgeDenial {
  readonly caller: CallerIdentity;
  readonly reason: string;
  readonly message: string;
  readonly method: string;
  readonly path: string;
}

export async function recordEdgeDenial(ctx: BrokerContext, denial: EdgeDenial): Promise<void> {
  const { caller, reason, message, method, path } = denial;
  const executionId = ctx.newExecutionId();
  const identity = identify(ctx.policy, caller);
  const record = baseRecord(
    ctx,
    executionId,
    'denied',
    auditCaller(caller, identity.matched ? identity.principal : undefined),
    {},
    { allowed: false, reason, message: storableText(`${method} ${path}: ${message}`) },
  );
  ctx.metrics.count(Metric.Denials, 1);
  ctx.metrics.count(Metric.Denials, 1, { Reason: reason });
  await ctx.trail.finish(record);
}
