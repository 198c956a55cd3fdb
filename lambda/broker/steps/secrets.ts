/** Step 6, secrets: the profile's secrets, read WITH the execution's session (none: no read). */
import type { AssumedSession } from '../../core/ports.ts';
import type { BrokerContext } from '../context.ts';
import type { Authorized } from './decide.ts';

/** variable -> value. Throws whatever the secrets port threw (the pipeline fails closed). */
export async function readSecrets(
  ctx: BrokerContext,
  session: AssumedSession,
  authorized: Authorized,
): Promise<Record<string, string>> {
  if (authorized.secretRefs.length === 0) return {};
  return ctx.secrets.read(session, authorized.secretRefs, authorized.context);
}
