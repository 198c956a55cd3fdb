import { beforeEach, describe, expect, it } from 'vitest';
import { digestKey, recordKey, recordToItem } from '../../lambda/adapters/aws/audit-item.ts';
import { FileAuditSigner } from '../../lambda/adapters/local/file-audit-signer.ts';
import { verificationLine } from '../../lambda/audit/audit-log-line.ts';
import { createDigest } from '../../lambda/audit/create-digest.ts';
import { formatVerifyReport } from '../../lambda/audit/verify-report.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { canonicalJson, sha256Hex } from '../../lambda/core/canonical-json.ts';
import { useAuditTables } from '../support/audit-tables.ts';
import { auditRecord } from './records.ts';
import { MINUTE, problemOf, T0, Trail } from './trail.ts';

const tables = useAuditTables('audit');

describe('verifyChain on an untouched trail', () => {
  it('reports it intact: every record checked, the undigested ones counted as not yet covered', async () => {
    const trail = await Trail.build(tables);
    const result = await trail.verify();

    expect(result).toMatchObject({ ok: true, records: 8, digests: 3, uncovered: 2, scope: 'all' });
    expect(result.lastDigest?.sequence).toBe(3);
    expect(formatVerifyReport(result)).toMatch(
      /INTACT[\s\S]*8 records in 3 digests[\s\S]*not yet covered: {2}2/,
    );
  });

  it('covers records once the next digest is made, with periods that chain without gaps', async () => {
    const trail = await Trail.build(tables);
    const fourth = await trail.digest();

    expect(fourth.body).toMatchObject({
      sequence: 4,
      previousDigestSha256: trail.digests[2]?.digestSha256,
      periodStart: trail.digests[2]?.body.periodEnd,
      recordCount: 2,
    });
    expect(await trail.verify()).toMatchObject({ ok: true, records: 10, digests: 4, uncovered: 0 });
  });

  it('does not cover a record written within the settle delay before the digest', async () => {
    const trail = new Trail(tables, await tables.newTable());
    await trail.write('exec-early', 'denied');
    trail.clock.advance(5 * MINUTE);
    await trail.write('exec-late', 'denied'); // stamped 20 s ago: inside the 60 s settle delay
    const result = await createDigest(trail.digestOptions);

    expect(result.status).toBe('written');
    if (result.status === 'written') expect(result.digest.body.recordCount).toBe(1);
    expect(await trail.verify()).toMatchObject({ ok: true, records: 1, uncovered: 1 });
  });

  it('lets only one of two simultaneous digesters write a sequence', async () => {
    const trail = new Trail(tables, await tables.newTable());
    await trail.write('exec-race', 'denied');
    trail.clock.advance(5 * MINUTE);
    const results = await Promise.all([createDigest(trail.digestOptions), createDigest(trail.digestOptions)]);

    expect(results.map((r) => r.status).sort()).toEqual(['lost-race', 'written']);
    expect(await trail.verify()).toMatchObject({ ok: true, records: 1, digests: 1 });
  });

  it('says a digest is not due before its period has ended', async () => {
    const trail = await Trail.build(tables);
    await trail.digest();
    expect((await createDigest(trail.digestOptions)).status).toBe('not-due');
  });

  it('checks the table against the digests the audit log recorded', async () => {
    const trail = await Trail.build(tables);
    const anchors = await trail.log.readDigestAnchors();

    expect(anchors.map((a) => a.sequence)).toEqual([1, 2, 3]);
    expect(await trail.verify({ anchors })).toMatchObject({ ok: true });
  });
});

describe('verifyChain names the first bad record', () => {
  let trail: Trail;
  beforeEach(async () => {
    trail = await Trail.build(tables);
  });

  it.each([
    [
      'the outcome status',
      (r: AuditRecord): AuditRecord => ({ ...r, outcome: { ...r.outcome!, status: 'failed' } }),
    ],
    [
      'the caller',
      (r: AuditRecord): AuditRecord => ({
        ...r,
        caller: { ...r.caller, arn: 'arn:aws:iam::111122223333:user/x' },
      }),
    ],
    [
      'the code digest',
      (r: AuditRecord): AuditRecord => ({ ...r, request: { ...r.request, codeSha256: 'f'.repeat(64) } }),
    ],
    [
      'the role session',
      (r: AuditRecord): AuditRecord => ({ ...r, role: { ...r.role!, sessionName: 'other' } }),
    ],
  ])(
    'detects a record whose %s was MODIFIED (hash and indexes rewritten to match)',
    async (_field, change) => {
      await trail.rewriteRecord('exec-3', 'completed', change);

      expect(problemOf(await trail.verify())).toMatchObject({
        kind: 'modified',
        executionId: 'exec-3',
        event: 'completed',
        digestSequence: 2,
      });
    },
  );

  it('detects a MODIFIED callerArn index attribute alone', async () => {
    const item = await trail.item(recordKey('exec-1', 'started'));
    await trail.putRaw({ ...item, callerArn: { S: 'arn:aws:iam::111122223333:user/someone-else' } });

    expect(problemOf(await trail.verify())).toMatchObject({
      kind: 'modified',
      executionId: 'exec-1',
      event: 'started',
    });
  });

  it('detects a MODIFIED recordSha256 attribute alone', async () => {
    const item = await trail.item(recordKey('exec-2', 'denied'));
    await trail.putRaw({ ...item, recordSha256: { S: '0'.repeat(64) } });

    expect(problemOf(await trail.verify())).toMatchObject({
      kind: 'modified',
      executionId: 'exec-2',
      event: 'denied',
    });
  });

  it('detects a DELETED record', async () => {
    await trail.deleteRaw(recordKey('exec-4', 'started'));

    const problem = problemOf(await trail.verify());
    expect(problem).toMatchObject({
      kind: 'deleted',
      executionId: 'exec-4',
      event: 'started',
      digestSequence: 2,
    });
    expect(problem.message).toMatch(/listed in digest 2 is missing/);
  });

  it('detects a record INSERTED into an already digested period', async () => {
    const forged = auditRecord('exec-forged', 'denied', new Date(T0.getTime() + 3 * MINUTE));
    const writtenAt = new Date(Date.parse(trail.digests[1]!.body.periodStart) + 1000).toISOString();
    await trail.putRaw(recordToItem(forged, writtenAt, 1));

    expect(problemOf(await trail.verify())).toMatchObject({
      kind: 'inserted',
      executionId: 'exec-forged',
      event: 'denied',
      digestSequence: 2,
    });
  });

  it('detects an INSERTED record even without index attributes (the full check scans the table)', async () => {
    const forged = recordToItem(auditRecord('exec-hidden', 'started', T0), T0.toISOString(), 1);
    const { gsi1pk: _pk, gsi1sk: _sk, callerArn: _c, timestamp: _t, ...hidden } = forged;
    await trail.putRaw(hidden);

    expect(problemOf(await trail.verify())).toMatchObject({ kind: 'inserted', executionId: 'exec-hidden' });
  });

  it('detects two records whose timestamps were swapped as REORDERED, naming the earlier', async () => {
    const a = trail.records.get('exec-1/completed')!;
    const b = trail.records.get('exec-2/denied')!;
    await trail.rewriteRecord('exec-1', 'completed', (r) => ({ ...r, timestamp: b.timestamp }));
    await trail.rewriteRecord('exec-2', 'denied', (r) => ({ ...r, timestamp: a.timestamp }));

    const problem = problemOf(await trail.verify());
    expect(problem).toMatchObject({
      kind: 'reordered',
      executionId: 'exec-1',
      event: 'completed',
      digestSequence: 1,
    });
    expect(problem.message).toContain(`timestamp ${b.timestamp} was ${a.timestamp}`);
  });

  it('detects a record moved in write order (writtenAt and index rewritten) as REORDERED', async () => {
    const item = await trail.item(recordKey('exec-3', 'started'));
    const record = JSON.parse(item.record?.S ?? '') as AuditRecord;
    await trail.putRaw(recordToItem(record, new Date(T0.getTime() - 30 * MINUTE).toISOString(), 1));

    expect(problemOf(await trail.verify())).toMatchObject({
      kind: 'reordered',
      executionId: 'exec-3',
      event: 'started',
    });
  });

  it("detects swapped entries in a digest's record list as REORDERED", async () => {
    const ref = trail.digests[1]!.body.parts[0]!;
    const part = await trail.item({ pk: { S: ref.pk }, sk: { S: ref.sk } });
    const entries = JSON.parse(part.entries?.S ?? '[]') as unknown[];
    [entries[0], entries[1]] = [entries[1], entries[0]];
    const json = canonicalJson(entries);
    await trail.putRaw({ ...part, entries: { S: json }, sha256: { S: sha256Hex(json) } });

    expect(problemOf(await trail.verify())).toMatchObject({ kind: 'reordered', digestSequence: 2 });
  });

  it('detects two digests swapped in the table as REORDERED', async () => {
    const d2 = await trail.item(digestKey(2));
    const d3 = await trail.item(digestKey(3));
    await trail.putRaw({ ...d2, ...digestKey(3) });
    await trail.putRaw({ ...d3, ...digestKey(2) });

    expect(problemOf(await trail.verify())).toMatchObject({ kind: 'reordered', digestSequence: 3 });
  });

  it('detects an entry removed from a digest record list as DELETED', async () => {
    const ref = trail.digests[0]!.body.parts[0]!;
    const part = await trail.item({ pk: { S: ref.pk }, sk: { S: ref.sk } });
    const entries = (JSON.parse(part.entries?.S ?? '[]') as unknown[]).slice(1);
    await trail.putRaw({ ...part, entries: { S: canonicalJson(entries) } });

    expect(problemOf(await trail.verify())).toMatchObject({ kind: 'deleted', digestSequence: 1 });
  });

  it('detects a digest whose body was modified (hash recomputed) as SIGNATURE INVALID', async () => {
    const item = await trail.item(digestKey(2));
    const body = { ...(JSON.parse(item.body?.S ?? '') as object), recordCount: 2 };
    const json = canonicalJson(body);
    await trail.putRaw({ ...item, body: { S: json }, digestSha256: { S: sha256Hex(json) } });

    const problem = problemOf(await trail.verify());
    expect(problem).toMatchObject({ kind: 'signature_invalid', digestSequence: 2 });
    expect(formatVerifyReport(await trail.verify())).toMatch(/FAILED \(signature invalid\)[\s\S]*digest: +2/);
  });

  it('detects a history rewritten and re-signed with another key as SIGNATURE INVALID', async () => {
    // The forger deletes exec-3's records, then writes a whole new, self-consistent chain with their own key.
    await trail.deleteRaw(recordKey('exec-3', 'started'));
    await trail.deleteRaw(recordKey('exec-3', 'completed'));
    for (const n of [1, 2, 3]) await trail.deleteRaw(digestKey(n));
    const forger = FileAuditSigner.generate();
    trail.clock.advance(-trail.clock.now().getTime() + T0.getTime() + 2 * MINUTE + 60_000);
    for (let i = 0; i < 3; i++) {
      trail.clock.advance(5 * MINUTE);
      await createDigest({ ...trail.digestOptions, signer: forger, log: undefined });
    }

    expect(problemOf(await trail.verify())).toMatchObject({ kind: 'signature_invalid', digestSequence: 1 });
  });

  it('detects a deleted digest in the middle as CHAIN BROKEN', async () => {
    await trail.deleteRaw(digestKey(2));

    const problem = problemOf(await trail.verify());
    expect(problem).toMatchObject({ kind: 'chain_broken', digestSequence: 2 });
    expect(problem.message).toMatch(/digest 2 is missing/);
  });

  it('detects the latest digest deleted, using the digests in the audit log, as CHAIN BROKEN', async () => {
    const anchors = await trail.log.readDigestAnchors();
    await trail.deleteRaw(digestKey(3));

    expect(problemOf(await trail.verify({ anchors }))).toMatchObject({
      kind: 'chain_broken',
      digestSequence: 3,
    });
  });

  it('detects the latest digests deleted, once they are overdue, as CHAIN BROKEN without the log', async () => {
    await trail.deleteRaw(digestKey(3));
    trail.clock.advance(2 * 3_600_000);

    expect(problemOf(await trail.verify())).toMatchObject({ kind: 'chain_broken' });
  });

  it('reports the earliest of several bad records', async () => {
    await trail.rewriteRecord('exec-5', 'denied', (r) => ({
      ...r,
      decision: { ...r.decision, reason: 'ALLOWED' },
    }));
    await trail.deleteRaw(recordKey('exec-3', 'completed'));
    await trail.rewriteRecord('exec-1', 'completed', (r) => ({
      ...r,
      request: { ...r.request, purpose: 'x' },
    }));

    const result = await trail.verify();
    expect(problemOf(result)).toMatchObject({ kind: 'modified', executionId: 'exec-1', event: 'completed' });
    expect(formatVerifyReport(result)).toMatch(/first bad record: execution exec-1, event completed/);
  });
});

describe('verifyChain over recent digests only', () => {
  it('reports an intact tail intact', async () => {
    const trail = await Trail.build(tables);
    expect(await trail.verify({ recentDigests: 2 })).toMatchObject({
      ok: true,
      digests: 2,
      records: 5,
      scope: 'recent',
    });
  });

  it('detects a modified record in a recent digest', async () => {
    const trail = await Trail.build(tables);
    await trail.rewriteRecord('exec-4', 'completed', (r) => ({ ...r, secretVariables: ['STOLEN'] }));

    expect(problemOf(await trail.verify({ recentDigests: 1 }))).toMatchObject({
      kind: 'modified',
      executionId: 'exec-4',
      event: 'completed',
    });
  });

  it('detects a deleted record and an inserted one in a recent digest', async () => {
    const trail = await Trail.build(tables);
    await trail.deleteRaw(recordKey('exec-5', 'denied'));
    expect(problemOf(await trail.verify({ recentDigests: 1 }))).toMatchObject({
      kind: 'deleted',
      executionId: 'exec-5',
    });

    const other = await Trail.build(tables);
    const writtenAt = new Date(Date.parse(other.digests[2]!.body.periodStart) + 5).toISOString();
    await other.putRaw(recordToItem(auditRecord('exec-new', 'denied', T0), writtenAt, 1));
    expect(problemOf(await other.verify({ recentDigests: 1 }))).toMatchObject({
      kind: 'inserted',
      executionId: 'exec-new',
    });
  });
});

describe('verifyChain on an incomplete trail', () => {
  it('lists a started execution with no outcome once its deadline has passed, in the full and the recent check', async () => {
    const trail = await Trail.build(tables);
    const started = await trail.write('exec-7', 'started'); // no timeoutMs: the broker's 15 minutes
    await trail.digest();
    trail.clock.advance(15 * MINUTE);
    expect((await trail.verify()).incomplete).toEqual([]);

    trail.clock.advance(6 * MINUTE);
    const deadline = new Date(Date.parse(started.timestamp) + 20 * MINUTE).toISOString();
    for (const result of [await trail.verify(), await trail.verify({ recentDigests: 1 })]) {
      expect(result).toMatchObject({
        ok: true,
        incomplete: [{ executionId: 'exec-7', startedAt: started.timestamp, deadline }],
      });
      expect(formatVerifyReport(result)).toContain(
        'audit verification: INCOMPLETE (1 execution started with no outcome',
      );
      expect(JSON.parse(verificationLine(result, trail.clock.now()))).toMatchObject({
        auditVerification: { ok: true, incomplete: 1 },
      });
    }

    await trail.write('exec-7', 'denied');
    expect((await trail.verify()).incomplete).toEqual([]);
    expect((await trail.verify({ recentDigests: 1 })).incomplete).toEqual([]);
  });

  it('uses the run time limit the started record carries, and the margin given', async () => {
    const trail = await Trail.build(tables);
    trail.clock.advance(20_000);
    const record = auditRecord('exec-8', 'started', trail.clock.now());
    await trail.store.put({ ...record, request: { ...record.request, timeoutMs: 30_000 } });
    trail.clock.advance(MINUTE);
    expect((await trail.verify({ outcomeMarginMs: 0 })).incomplete.map((e) => e.executionId)).toEqual([
      'exec-8',
    ]);
    expect((await trail.verify()).incomplete).toEqual([]);
  });
});

describe('verifyChain over the records of a session (#15)', () => {
  it('covers session_started, the calls (with session and sequence) and session_ended, and detects a changed end', async () => {
    const trail = await Trail.build(tables);
    const session = { sessionId: 'ses_01HZX3K7R8M9N0P1Q2R3S4T5V6' };
    const put = async (record: AuditRecord) => {
      trail.clock.advance(20_000);
      await trail.store.put({ ...record, timestamp: trail.clock.now().toISOString() });
    };
    const base = auditRecord('ses-start', 'started', trail.clock.now());
    await put({
      ...base,
      event: 'session_started',
      secretVariables: ['REPORT_API_TOKEN'],
      session: { ...session, expiresAt: '2026-03-10T11:00:00.000Z' },
    });
    await put({
      ...auditRecord('ses-call-1', 'started', trail.clock.now()),
      session: { ...session, sequence: 1 },
    });
    await put({
      ...auditRecord('ses-call-1', 'completed', trail.clock.now()),
      session: { ...session, sequence: 1, stateBytes: 310 },
    });
    await put({
      ...base,
      executionId: 'ses-end',
      event: 'session_ended',
      session: { ...session, endReason: 'deleted', executions: 1, durationSeconds: 60, stateBytes: 310 },
    });
    await trail.digest();
    await trail.digest();
    expect(await trail.verify()).toMatchObject({ ok: true, records: 14, uncovered: 0 });

    await trail.rewriteRecord('ses-end', 'session_ended', (r) => ({
      ...r,
      session: { ...r.session!, endReason: 'expired' },
    }));
    expect(problemOf(await trail.verify())).toMatchObject({
      kind: 'modified',
      executionId: 'ses-end',
      event: 'session_ended',
    });
  });
});
