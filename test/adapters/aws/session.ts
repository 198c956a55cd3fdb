import type { AssumedSession } from '../../../lambda/core/ports.ts';

/**
 * A session of `profile`'s execution role as the STS adapter returns it, for adapters that sign
 * their calls with it. Its keys are ASIASESSIONKEY000001 / session-secret / session-token, which the
 * tests assert the signed client received.
 */
export function assumedSession(profile: string): AssumedSession {
  return {
    credentials: {
      accessKeyId: 'ASIASESSIONKEY000001',
      secretAccessKey: 'session-secret',
      sessionToken: 'session-token',
      expiration: new Date('2030-01-01T12:15:00Z'),
    },
    roleArn: `arn:aws:iam::111122223333:role/custody-exec-${profile}`,
    assumedRoleArn: `arn:aws:sts::111122223333:assumed-role/custody-exec-${profile}/agent@X`,
    sessionName: 'agent@X',
    sourceIdentity: 'agent',
  };
}
