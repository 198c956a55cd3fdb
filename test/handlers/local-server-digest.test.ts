/**
 * The local server's digest tick reconciles first: a record only in `.custody/audit.log` (the
 * table refused it: auditPending) is in the table after one tick, and then in the digest.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RECONCILE_WINDOW_MS } from '../../lambda/audit/scheduled-reconcile.ts';
import type { Sandbox } from '../../lambda/core/types.ts';
import { type LocalServer, startLocalServer } from '../../lambda/handlers/local-server.ts';
import { auditRecord, ManualClock } from '../audit/records.ts';

const ROOT = join(import.meta.dirname, '..', '..');
/** No execution runs here: the test writes audit records itself. */
const NO_SANDBOX: Sandbox = {
  run: () => Promise.reject(new Error('no sandbox in this test')),
};

describe('local digest tick', () => {
  let home: string;
  let server: LocalServer;
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'custody-local-reconcile-'));
    server = await startLocalServer({
      home,
      port: 0,
      policyFile: join(ROOT, 'custody.policy.json'),
      sandbox: NO_SANDBOX,
      clock: clock.now,
      // The timer never fires in the test: the tick is called directly (runNow runs what it runs).
      digestIntervalMs: 3_600_000,
    });
  });
  afterAll(async () => {
    await server?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('writes a record found only in the local audit log into the table, then digests it', async () => {
    const started = auditRecord('local-pending-1', 'started', clock.now());
    await server.auditStore.put(started);
    await server.auditLog.write(started);
    // The completed record the table refused: only in .custody/audit.log.
    const completed = auditRecord('local-pending-1', 'completed', clock.advance(1000));
    await server.auditLog.write(completed);
    // Older than the window: left to `custody audit reconcile` (which reads the whole file).
    const old = auditRecord(
      'local-old-1',
      'denied',
      new Date(clock.now().getTime() - RECONCILE_WINDOW_MS - 1),
    );
    await server.auditLog.write(old);
    expect(await server.auditStore.get('local-pending-1')).toHaveLength(1);

    await server.digests.runNow();

    expect((await server.auditStore.get('local-pending-1')).map((r) => r.event).sort()).toEqual([
      'completed',
      'started',
    ]);
    expect(await server.auditStore.get('local-old-1')).toEqual([]);

    clock.advance(10 * 60_000);
    const digests = await server.digests.runNow();
    expect(digests.reduce((sum, d) => sum + d.body.recordCount, 0)).toBe(2);
  });
});
