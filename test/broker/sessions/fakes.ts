/**
 * In-memory session ports for broker tests, with the semantics the DynamoDB store gives them
 * (conditional begin/finish/end), and a state store that records the role session of each read
 * and write. The key vault is the real local one (`LocalSessionKeyVault`) on a temp file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalSessionKeyVault } from '../../../lambda/adapters/local/session-key-vault.ts';
import type { AssumedSession } from '../../../lambda/core/ports.ts';
import type {
  SessionEndReason,
  SessionRecord,
  SessionStateStore,
  SessionStore,
} from '../../../lambda/core/session.ts';

export class MemorySessionStore implements SessionStore {
  readonly records = new Map<string, SessionRecord>();

  async create(record: SessionRecord): Promise<void> {
    if (this.records.has(record.sessionId)) throw new Error('ConditionalCheckFailedException');
    this.records.set(record.sessionId, structuredClone(record));
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const record = this.records.get(sessionId);
    return record ? structuredClone(record) : undefined;
  }

  async listByPrincipal(principalId: string): Promise<SessionRecord[]> {
    return [...this.records.values()]
      .filter((r) => r.principalId === principalId)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  async listActive(): Promise<SessionRecord[]> {
    return [...this.records.values()].filter((r) => r.status === 'active');
  }

  async begin(sessionId: string, executionId: string, now: Date, staleAfterMs: number) {
    const r = this.records.get(sessionId);
    if (!r) return { ok: false as const, reason: 'missing' as const };
    if (r.status !== 'active' || now.getTime() >= Date.parse(r.expiresAt)) {
      return { ok: false as const, reason: 'ended' as const };
    }
    if (r.busyWith && now.getTime() - Date.parse(r.busyWith.since) < staleAfterMs) {
      return { ok: false as const, reason: 'busy' as const };
    }
    const sequence = r.executions + 1;
    this.records.set(sessionId, {
      ...r,
      executions: sequence,
      busyWith: { executionId, since: now.toISOString() },
    });
    return { ok: true as const, sequence };
  }

  async finish(sessionId: string, executionId: string, update: { stateBytes: number }): Promise<boolean> {
    const r = this.records.get(sessionId);
    if (r?.status !== 'active' || r.busyWith?.executionId !== executionId) return false;
    const { busyWith: _, ...rest } = r;
    this.records.set(sessionId, { ...rest, stateBytes: update.stateBytes });
    return true;
  }

  async end(sessionId: string, reason: SessionEndReason, at: Date): Promise<SessionRecord | undefined> {
    const r = this.records.get(sessionId);
    if (r?.status !== 'active') return undefined;
    const { wrappedKey: _k, sealedSecrets: _s, busyWith: _b, ...rest } = r;
    this.records.set(sessionId, { ...rest, status: 'ended', endReason: reason, endedAt: at.toISOString() });
    return r;
  }
}

export class MemoryStateStore implements SessionStateStore {
  readonly objects = new Map<string, Uint8Array>();
  readonly reads: { session: AssumedSession; sessionId: string }[] = [];
  readonly writes: { session: AssumedSession; sessionId: string; bytes: number }[] = [];
  readonly deletes: string[] = [];

  async read(session: AssumedSession, sessionId: string): Promise<Uint8Array | undefined> {
    this.reads.push({ session, sessionId });
    return this.objects.get(sessionId);
  }

  async write(session: AssumedSession, sessionId: string, sealed: Uint8Array): Promise<void> {
    this.writes.push({ session, sessionId, bytes: sealed.byteLength });
    this.objects.set(sessionId, sealed);
  }

  async delete(sessionId: string): Promise<void> {
    this.deletes.push(sessionId);
    this.objects.delete(sessionId);
  }
}

/** A real local vault on a key file in a fresh temp folder; `remove()` deletes the folder. */
export function tempVault(): { vault: LocalSessionKeyVault; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'custody-vault-'));
  return {
    vault: LocalSessionKeyVault.open(join(dir, 'session-master.key')),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
