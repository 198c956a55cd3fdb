/**
 * What the local-port tests share: the example policy's local deployment, a local STS on a clock
 * the test moves by hand (`now.t += …`), and the AssumeRole input the broker sends for a profile.
 */

import { LocalCredentialsPort } from '../../../lambda/adapters/local/credentials.ts';
import { localDeployment } from '../../../lambda/adapters/local/deployment.ts';
import { loadPolicyFile } from '../../../lambda/core/policy.ts';
import type { AssumeRoleInput } from '../../../lambda/core/ports.ts';

export function localSessions() {
  const policy = loadPolicyFile('custody.policy.json');
  const deployment = localDeployment(policy, 'us-east-1');
  const now = { t: Date.parse('2026-03-01T12:00:00Z') };
  const credentials = new LocalCredentialsPort({ deployment, clock: () => new Date(now.t) });
  /** The agent's AssumeRole input for `profile`'s execution role. */
  const assume = (profile: string): AssumeRoleInput => ({
    roleArn: `arn:aws:iam::111122223333:role/custody-exec-${profile}`,
    sessionName: `custody-agent-${profile}-${now.t}`,
    sourceIdentity: 'agent',
    tags: { profile },
    sessionPolicy: '{}',
    durationSeconds: 900,
  });
  return { policy, deployment, now, credentials, assume };
}
