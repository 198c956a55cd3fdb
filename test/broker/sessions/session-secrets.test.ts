/**
 * "Secrets injected at session start": the broker over the real Secrets Manager adapter, its
 * client mocked with aws-sdk-client-mock. One GetSecretValue per session, however many calls.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SecretsManagerSecrets } from '../../../lambda/adapters/aws/secrets-manager-secrets.ts';
import type { SessionExecutionResponse, SessionStartResponse } from '../../../lambda/core/api-schema.ts';
import { sandboxResult } from '../fakes.ts';
import { body, callers, REPORT_SECRET_ARN } from '../fixture.ts';
import { sessionFixture, standInState } from './fixture.ts';

const sm = mockClient(SecretsManagerClient);
let cleanup: (() => void)[] = [];
afterEach(() => {
  sm.reset();
  for (const step of cleanup) step();
  cleanup = [];
});

describe('secrets of a session', () => {
  it('are read from Secrets Manager once per session: start + 3 calls = 1 GetSecretValue', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'tok-at-start' });
    const f = sessionFixture({ secrets: new SecretsManagerSecrets({ region: 'eu-west-1' }) });
    cleanup.push(f.removeVault);
    f.executor.respond = (request) =>
      sandboxResult({
        stdout: request.env?.REPORT_API_TOKEN === 'tok-at-start' ? 'had the token\n' : 'no token\n',
        state: { carried: standInState(request), dropped: [] },
      });
    const { sessionId } = body<SessionStartResponse>(await f.start(callers.agent, { profile: 'reports' }));
    // A rotation during the session does not reach it: the session keeps what it read at start.
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'tok-rotated' });
    for (let i = 0; i < 3; i++) {
      const res = await f.run(callers.agent, sessionId);
      expect(body<SessionExecutionResponse>(res).stdout).toBe('had the token\n');
    }
    expect(sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: REPORT_SECRET_ARN },
    ]);
    // A second session reads again (and gets the rotated value).
    await f.start(callers.agent, { profile: 'reports' });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
