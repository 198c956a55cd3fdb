/** The digest writer on a real table (dynalite): parts, a tampered head, the local schedule. */
import { describe, expect, it } from 'vitest';
import { digestKey } from '../../lambda/adapters/aws/audit-item.ts';
import { AuditChainError, createDigest, scheduleDigests } from '../../lambda/audit/create-digest.ts';
import { useAuditTables } from '../support/audit-tables.ts';
import { MINUTE, Trail } from './trail.ts';

const tables = useAuditTables('create-digest');

describe('createDigest', () => {
  it('refuses to extend a chain whose latest digest was tampered with', async () => {
    const trail = await Trail.build(tables);
    const item = await trail.item(digestKey(3));
    await trail.putRaw({ ...item, signature: { S: Buffer.from('not a signature').toString('base64') } });
    trail.clock.advance(10 * MINUTE);

    await expect(createDigest(trail.digestOptions)).rejects.toBeInstanceOf(AuditChainError);
  });

  it('splits a long record list into parts and still verifies', async () => {
    const trail = new Trail(tables, await tables.newTable());
    for (let i = 0; i < 12; i++) await trail.write(`exec-many-${i}`, 'denied');
    trail.clock.advance(5 * MINUTE);
    const result = await createDigest({ ...trail.digestOptions, maxPartBytes: 600 });

    expect(result.status).toBe('written');
    if (result.status === 'written') expect(result.digest.body.parts.length).toBeGreaterThan(2);
    expect(await trail.verify()).toMatchObject({ ok: true, records: 12 });
  });
});

describe('scheduleDigests', () => {
  it('digests on demand until caught up, one run at a time', async () => {
    const trail = new Trail(tables, await tables.newTable());
    await trail.write('exec-s1', 'denied');
    trail.clock.advance(3 * 3_600_000); // three hours behind: several capped periods
    await trail.write('exec-s2', 'denied');
    trail.clock.advance(5 * MINUTE);
    const schedule = scheduleDigests({ ...trail.digestOptions, intervalMs: 3_600_000 });
    try {
      const [first, second] = await Promise.all([schedule.runNow(), schedule.runNow()]);

      expect(first.length).toBeGreaterThan(2);
      expect(second).toEqual([]);
      expect(await trail.verify()).toMatchObject({
        ok: true,
        records: 2,
        digests: first.length,
        uncovered: 0,
      });
    } finally {
      await schedule.stop();
    }
  });
});
