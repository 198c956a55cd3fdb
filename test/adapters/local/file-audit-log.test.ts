import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditLog } from '../../../lambda/adapters/local/file-audit-log.ts';
import { AuditWriteError } from '../../../lambda/audit/errors.ts';
import { canonicalJson } from '../../../lambda/core/canonical-json.ts';
import { auditRecord } from '../../audit/records.ts';

describe('FileAuditLog', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'custody-log-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends one canonical JSON line per record, creating the directory', async () => {
    const log = new FileAuditLog(join(dir, '.custody', 'audit.log'));
    const record = auditRecord('exec-1', 'denied', new Date('2026-03-10T10:00:00.000Z'));
    await log.write(record);

    expect(await readFile(log.path, 'utf8')).toBe(`${canonicalJson(record)}\n`);
  });

  it('loses and interleaves nothing when many writes race', async () => {
    const log = new FileAuditLog(join(dir, 'race.log'));
    const records = Array.from({ length: 200 }, (_, i) =>
      auditRecord(`exec-${i}`, 'started', new Date(Date.UTC(2026, 2, 10, 10, 0, 0, i))),
    );
    await Promise.all(records.map((r) => log.write(r)));

    const lines = await log.readLines();
    expect(lines).toHaveLength(200);
    expect(new Set(lines.map((l) => (JSON.parse(l) as { executionId: string }).executionId)).size).toBe(200);
  });

  it('refuses a line with a newline in it', async () => {
    await expect(new FileAuditLog(join(dir, 'x.log')).writeLine('a\nb')).rejects.toBeInstanceOf(
      AuditWriteError,
    );
  });

  it('surfaces a file it cannot write as AuditWriteError naming the file, then keeps working', async () => {
    const blocked = new FileAuditLog(join(dir, 'race.log', 'cannot-be-a-dir.log'));
    await expect(blocked.write(auditRecord('e', 'denied', new Date()))).rejects.toThrow(
      /could not append to audit log .*race\.log/,
    );
  });

  it('reads back the digest anchors and refuses a digest line whose hash lies', async () => {
    const log = new FileAuditLog(join(dir, 'anchors.log'));
    const body = { sequence: 1, periodEnd: '2026-03-10T10:00:00.000Z' };
    const { sha256Hex } = await import('../../../lambda/core/canonical-json.ts');
    await log.writeLine(
      canonicalJson({ auditDigest: body, digestSha256: sha256Hex(canonicalJson(body)), signature: 's' }),
    );
    await log.write(auditRecord('exec-a', 'denied', new Date()));

    expect(await log.readDigestAnchors()).toEqual([
      { sequence: 1, digestSha256: sha256Hex(canonicalJson(body)) },
    ]);
    await log.writeLine(
      canonicalJson({ auditDigest: { ...body, sequence: 2 }, digestSha256: '0'.repeat(64) }),
    );
    await expect(log.readDigestAnchors()).rejects.toThrow(
      /line 3: digest 2 does not hash to its digestSha256/,
    );
  });
});
