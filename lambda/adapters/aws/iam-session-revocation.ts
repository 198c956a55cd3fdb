/**
 * The AWS half of revoking a profile: what the IAM console's "Revoke active sessions" does to a
 * role. An inline policy on the profile's execution role denies every action to any session of
 * the role issued before the revocation instant (`aws:TokenIssueTime`), so credentials already
 * handed out, by this broker or anyone, stop working at once, whatever they were scoped to.
 *
 * The statement outlives a reinstatement on purpose: sessions issued after the instant are not
 * affected, and those issued before stay dead until they expire (at most an hour: role chaining).
 */
import { type IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';

/** The inline policy's name on the execution role (a later revocation replaces it). */
export const REVOKE_POLICY_NAME = 'custody-revoke-older-sessions';

/** The policy document: deny everything to sessions issued before `instant`. */
export function revokeOlderSessionsPolicy(instant: Date): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'RevokeOlderSessions',
        Effect: 'Deny',
        Action: ['*'],
        Resource: ['*'],
        Condition: { DateLessThan: { 'aws:TokenIssueTime': instant.toISOString() } },
      },
    ],
  });
}

export class RoleRevocationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'RoleRevocationError';
  }
}

/** Puts (or replaces) the deny on `roleName`. Needs `iam:PutRolePolicy` on the role. */
export async function revokeRoleSessions(client: IAMClient, roleName: string, instant: Date): Promise<void> {
  try {
    await client.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: REVOKE_POLICY_NAME,
        PolicyDocument: revokeOlderSessionsPolicy(instant),
      }),
    );
  } catch (error) {
    const e = error as { name?: string; message?: string };
    throw new RoleRevocationError(
      `could not put the session deny on role ${roleName}: ${e.name ?? 'Error'}: ${e.message ?? String(error)}`,
      { cause: error },
    );
  }
}
