/**
 * The kill switch as the broker reads it: the caller's principal and the named profiles, in one
 * round per request, failing closed. POST /v1/executions and GET /v1/profiles both read it here.
 */
import { Metric } from '../core/metrics.ts';
import type { RevocationState } from '../core/ports.ts';
import type { BrokerContext } from './context.ts';
import { asDependencyError } from './refusal.ts';

export interface RevocationRead {
  /** The principal's state; undefined if it was never suspended. */
  readonly principal: RevocationState | undefined;
  /** Each named profile's state, in the order asked; undefined if never revoked. */
  readonly profiles: readonly (RevocationState | undefined)[];
}

/**
 * Reads the principal's state and each profile's, at once. Throws a DependencyError('revocation')
 * (counted) if any cannot be read. Without a kill switch, reports nothing revoked.
 */
export async function readRevocations(
  ctx: Pick<BrokerContext, 'revocations' | 'metrics'>,
  principalId: string,
  profileNames: readonly string[],
): Promise<RevocationRead> {
  const { revocations } = ctx;
  if (!revocations) return { principal: undefined, profiles: profileNames.map(() => undefined) };
  try {
    const [principal, profiles] = await Promise.all([
      revocations.get('principal', principalId),
      Promise.all(profileNames.map((name) => revocations.get('profile', name))),
    ]);
    return { principal, profiles };
  } catch (error) {
    ctx.metrics.count(Metric.DependencyFailures, 1, { Dependency: 'revocation' });
    throw asDependencyError(error, 'revocation');
  }
}
