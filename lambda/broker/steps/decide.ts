/**
 * Step 3, decide: the kill switch first (a suspended principal runs nothing), then the policy
 * (`decision.ts`), then whether the profile is revoked (so a caller without a grant learns nothing
 * of it), then whether the stack deployed the profile whole.
 */

import type { DeploymentProfile } from '../../core/deployment.ts';
import {
  CustodyError,
  DeniedError,
  DependencyError,
  PayloadTooLargeError,
  ValidationError,
} from '../../core/errors.ts';
import { Metric } from '../../core/metrics.ts';
import type { Principal } from '../../core/policy.ts';
import type { ExecutionContext, SecretRef } from '../../core/ports.ts';
import type { BrokerContext } from '../context.ts';
import type { Decision } from '../decision.ts';
import { eventSizeProblem, SECRET_RESERVE_BYTES } from '../event-size.ts';
import { revokedError, suspendedError } from '../refusal.ts';
import type { ExecutionRequest } from '../request.ts';
import { type RevocationRead, readRevocations } from '../revocation-check.ts';
import type { PhaseTimings } from '../timings.ts';

/** What an allowed request may use, and where the stack deployed it. */
export interface Authorized
  extends Pick<Extract<Decision, { allowed: true }>, 'profile' | 'profileName' | 'limits'> {
  readonly deployed: DeploymentProfile;
  readonly secretRefs: readonly SecretRef[];
  /** The state just read, for this request's own secrets and executor calls (read once per request). */
  readonly context: ExecutionContext;
}

/** The longest execution id the event may carry, standing in for the one not yet chosen. */
const EXECUTION_ID_ROOM = 'x'.repeat(128);

/** Maps a refusal reason to its typed error (and so its HTTP status). */
function refusalError(decision: Extract<Decision, { allowed: false }>): CustodyError {
  if (decision.reason === 'INVALID_REQUEST') return new ValidationError(decision.message);
  if (decision.reason === 'PAYLOAD_TOO_LARGE') return new PayloadTooLargeError(decision.message);
  return new DeniedError(decision.reason, decision.message);
}

/** Times the policy decision as `decide`. Returns what is allowed, or the error refusing it. */
export async function authorize(
  ctx: BrokerContext,
  principal: Principal,
  /** A session start has no code; an execution's code and files are measured against the 6 MB event. */
  request: { readonly profile: string } & Partial<Pick<ExecutionRequest, 'language' | 'code' | 'files'>>,
  timings: PhaseTimings,
  /** The policy decision at an instant: `decide` for code, `decideSessionStart` for a session. */
  decideNow: (now: Date) => Decision,
): Promise<Authorized | CustodyError> {
  const { policy } = ctx;
  const readAt = ctx.clock();
  // Only a profile the policy declares is looked up.
  const declared = Object.hasOwn(policy.profiles, request.profile) ? [request.profile] : [];
  let read: RevocationRead;
  try {
    read = await readRevocations(ctx, principal.id, declared);
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
  if (read.principal?.revoked) return suspendedError(principal.id, read.principal.revokedAt);
  const revokedProfile = read.profiles[0];
  const decision = decideNow(ctx.clock());
  timings.lap('decide');
  if (!decision.allowed) return refusalError(decision);
  const { profile, profileName, limits } = decision;
  if (revokedProfile?.revoked) return revokedError(profileName, revokedProfile.revokedAt);
  // Lambda's 6 MB between the broker and the executor (#16): measured before anything is invoked.
  const oversize =
    request.language !== undefined && request.code !== undefined
      ? eventSizeProblem(
          {
            executionId: EXECUTION_ID_ROOM,
            language: request.language,
            code: request.code,
            limits,
            ...(request.files ? { files: request.files } : {}),
          },
          profile.secrets.length * SECRET_RESERVE_BYTES,
        )
      : undefined;
  if (oversize) return oversize;
  const context: ExecutionContext = ctx.revocations
    ? { profileRevocation: { profile: profileName, state: revokedProfile, readAt } }
    : {};

  const deployed = Object.hasOwn(ctx.deployment.profiles, profileName)
    ? ctx.deployment.profiles[profileName]
    : undefined;
  const secretRefs: SecretRef[] = [];
  for (const secret of profile.secrets) {
    const secretId = deployed?.secrets[secret.variable];
    if (secretId) secretRefs.push({ variable: secret.variable, secretId });
  }
  if (!deployed || secretRefs.length !== profile.secrets.length) {
    ctx.metrics.count(Metric.DependencyFailures, 1, { Dependency: 'policy' });
    return new DependencyError(
      'policy',
      `Profile "${profileName}" is not fully deployed; redeploy the stack.`,
    );
  }
  return { profileName, profile, limits, deployed, secretRefs, context };
}
