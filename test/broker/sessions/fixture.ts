/**
 * A broker with sessions, on the in-memory ports of `../fakes.ts` and `./fakes.ts`, a clock the
 * test moves, a kill switch it can pull, and a SANDBOX STAND-IN: an executor that carries the
 * session's state the way the real sandboxes do (it appends each call's code to a file of the
 * state and returns the whole as `state.carried`), so the broker's half is tested on its own.
 */
import type { BrokerDeps, CallerIdentity } from '../../../lambda/broker/api.ts';
import type { RevocationPort, RevocationScope, RevocationState } from '../../../lambda/core/ports.ts';
import type { SandboxState } from '../../../lambda/core/session.ts';
import type { SandboxRequest } from '../../../lambda/core/types.ts';
import { sandboxResult } from '../fakes.ts';
import { brokerFixture } from '../fixture.ts';
import { MemorySessionStore, MemoryStateStore, tempVault } from './fakes.ts';

const START = new Date('2030-01-01T12:00:00Z');

class MemoryRevocations implements RevocationPort {
  readonly states = new Map<string, RevocationState>();

  revoke(scope: RevocationScope, target: string): void {
    this.states.set(`${scope}#${target}`, {
      scope,
      target,
      revoked: true,
      revokedAt: '2030-01-01T12:10:00.000Z',
      revokedBy: 'arn:aws:iam::111122223333:user/ops',
    });
  }

  async get(scope: RevocationScope, target: string): Promise<RevocationState | undefined> {
    return this.states.get(`${scope}#${target}`);
  }
}

/** The sandbox stand-in's state after a call: the previous log plus this call's code. */
export function standInState(request: SandboxRequest): SandboxState {
  const previous = request.session?.state?.files['log.txt'];
  const log = `${previous ? Buffer.from(previous, 'base64').toString('utf8') : ''}${request.code}\n`;
  return { files: { 'log.txt': Buffer.from(log).toString('base64') } };
}

export function sessionFixture(overrides: Partial<BrokerDeps> = {}) {
  const clock = { now: START };
  const sessions = new MemorySessionStore();
  const state = new MemoryStateStore();
  const { vault, remove } = tempVault();
  const revocations = new MemoryRevocations();
  const f = brokerFixture({
    clock: () => clock.now,
    sessions: { store: sessions, state, vault },
    revocations,
    ...overrides,
  });
  f.executor.respond = (request) =>
    sandboxResult({
      stdout: `ran ${request.code}\n`,
      ...(request.session ? { state: { carried: standInState(request), dropped: ['sock'] } } : {}),
    });
  const call = (method: string, path: string, caller: CallerIdentity, body?: unknown) =>
    f.api.handle({
      method,
      path,
      body: body === undefined ? null : typeof body === 'string' ? body : JSON.stringify(body),
      caller,
    });
  return {
    ...f,
    clock,
    sessions,
    state,
    vault,
    revocations,
    removeVault: remove,
    /** Moves the clock on by `seconds`. */
    advance(seconds: number) {
      clock.now = new Date(clock.now.getTime() + seconds * 1000);
    },
    start: (caller: CallerIdentity, body: unknown = { profile: 'reports' }) =>
      call('POST', '/v1/sessions', caller, body),
    run: (caller: CallerIdentity, sessionId: string, code = 'x = 1') =>
      call('POST', `/v1/sessions/${sessionId}/executions`, caller, { language: 'python', code }),
    show: (caller: CallerIdentity, sessionId: string) => call('GET', `/v1/sessions/${sessionId}`, caller),
    list: (caller: CallerIdentity) => call('GET', '/v1/sessions', caller),
    end: (caller: CallerIdentity, sessionId: string) => call('DELETE', `/v1/sessions/${sessionId}`, caller),
  };
}
