/**
 * Step 5, assume: the profile's role, for this execution only (`session.ts` says how: session name,
 * source identity, tags, session policy, 900 s). It runs nothing, so it overlaps step 4.
 */
import type { AssumedSession } from '../../core/ports.ts';
import type { BrokerContext } from '../context.ts';
import { assumeRoleInput } from '../session.ts';
import type { Authorized } from './decide.ts';

export function assume(
  ctx: BrokerContext,
  authorized: Authorized,
  who: {
    readonly executionId: string;
    readonly principalId: string;
    readonly callerArn: string;
    /** A call (or the start) of a custody session: its id goes into a session tag. */
    readonly sessionId?: string;
  },
): Promise<AssumedSession> {
  return ctx.credentials.assumeRole(
    assumeRoleInput({
      roleArn: authorized.deployed.roleArn,
      executorArn: authorized.deployed.executorArn,
      secretIds: authorized.secretRefs.map((s) => s.secretId),
      principalId: who.principalId,
      callerArn: who.callerArn,
      executionId: who.executionId,
      profile: authorized.profileName,
      ...(who.sessionId !== undefined ? { sessionId: who.sessionId } : {}),
      s3: {
        read: Object.values(authorized.profile.datasets),
        ...(authorized.profile.outputs ? { write: authorized.profile.outputs } : {}),
      },
    }),
  );
}
