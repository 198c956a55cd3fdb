/**
 * Step 8, seal: the sandbox's output with every injected secret value and the session's own keys
 * redacted, and hashed (`seal.ts`).
 */
import type { AssumedSession } from '../../core/ports.ts';
import type { SandboxResult } from '../../core/types.ts';
import { type Sealed, type SecretValue, seal } from '../seal.ts';

export function sealOutput(
  result: SandboxResult,
  env: Record<string, string>,
  session: AssumedSession,
): Sealed {
  return seal(result, secretsOf(env, session));
}

/** What must never leave: the injected secret values and the role session's own keys. */
export function secretsOf(env: Record<string, string>, session: AssumedSession): SecretValue[] {
  const secretValues: SecretValue[] = Object.entries(env).map(([label, value]) => ({ label, value }));
  const sessionSecrets: SecretValue[] = [
    { label: 'session-credentials', value: session.credentials.accessKeyId },
    { label: 'session-credentials', value: session.credentials.secretAccessKey },
    { label: 'session-credentials', value: session.credentials.sessionToken },
  ];
  return [...secretValues, ...sessionSecrets];
}
