import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_FIELD_BUDGETS,
  boundAuditRecord,
  jsonPrefix,
  jsonStringBytes,
  MAX_AUDIT_RECORD_BYTES,
} from '../../lambda/core/audit-bounds.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import { canonicalJson } from '../../lambda/core/canonical-json.ts';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function record(overrides: Partial<AuditRecord> = {}): AuditRecord {
  return {
    schemaVersion: 1,
    executionId: '01J0BOUNDS0000000000000000',
    event: 'completed',
    timestamp: '2030-01-01T12:00:00.000Z',
    caller: { arn: 'arn:aws:sts::111122223333:assumed-role/a/b' },
    request: { profile: 'sandbox', language: 'python', codeSha256: 'c'.repeat(64) },
    decision: { allowed: true, reason: 'ALLOWED' },
    origin: 'local',
    ...overrides,
  };
}

describe('jsonPrefix', () => {
  it.each([
    ['control characters', '\u0001', 6],
    ['4-byte characters', '\u{1F600}', 4],
    ['lone surrogates', '\ud800', 6],
    ['quotes', '"', 2],
    ['3-byte characters', '\u2028', 3],
  ])('counts %s as JSON writes them and never splits one', (_l, ch, cost) => {
    const value = ch.repeat(100);
    expect(jsonStringBytes(value)).toBe(100 * cost);
    const kept = jsonPrefix(value, 10 * cost + cost - 1);
    expect(kept).toBe(ch.repeat(10));
  });
});

describe('boundAuditRecord', () => {
  it('leaves a record within its budgets unchanged', () => {
    const r = record({ request: { purpose: '\u0007'.repeat(4096), code: 'x'.repeat(100_000) } });
    expect(boundAuditRecord(r)).toEqual(r);
  });

  it('cuts every oversized field to its budget and names each with its whole size and hash', () => {
    const code = '\u0001'.repeat(1_000_000);
    const message = 'm'.repeat(1_000_000);
    const r = record({
      caller: { arn: 'a'.repeat(5000), userAgent: '\u001b'.repeat(10_000) },
      request: {
        code,
        purpose: 'p'.repeat(50_000),
        fileNames: Array.from({ length: 5000 }, () => 'f'.repeat(300)),
      },
      decision: { allowed: false, reason: 'R'.repeat(1000), message },
      role: { arn: 'r'.repeat(5000), assumedRoleArn: 'x', sessionName: 's', sourceIdentity: 'i' },
      secretVariables: Array.from({ length: 1000 }, (_, i) => `V${i}`),
      outcome: {
        status: 'failed',
        redactions: 0,
        truncated: false,
        errorName: 'e'.repeat(10_000),
        errorMessage: message,
      },
      revocation: { scope: 'profile', target: 't'.repeat(5000), reason: message },
    });
    const bounded = boundAuditRecord(r);
    expect(Buffer.byteLength(canonicalJson(bounded))).toBeLessThanOrEqual(MAX_AUDIT_RECORD_BYTES);
    expect(bounded.cut?.map((c) => c.field)).toEqual([
      'caller.arn',
      'caller.userAgent',
      'decision.message',
      'decision.reason',
      'outcome.errorMessage',
      'outcome.errorName',
      'request.code',
      'request.fileNames',
      'request.purpose',
      'revocation.reason',
      'revocation.target',
      'role.arn',
      'secretVariables',
    ]);
    const codeCut = bounded.cut?.find((c) => c.field === 'request.code');
    expect(codeCut).toEqual({
      field: 'request.code',
      bytes: 1_000_000,
      sha256: sha(code),
      keptBytes: AUDIT_FIELD_BUDGETS.code / 6 - ((AUDIT_FIELD_BUDGETS.code / 6) % 1),
    });
    expect(jsonStringBytes(bounded.request.code ?? '')).toBeLessThanOrEqual(AUDIT_FIELD_BUDGETS.code);
    expect(bounded.caller.arn).toBe('a'.repeat(1024));
  });

  it('is idempotent, so the table and the log hold the same bytes', () => {
    const r = record({
      request: { code: '\u0001'.repeat(300_000) },
      decision: { allowed: false, reason: 'X', message: '\u0002'.repeat(9000) },
    });
    const once = boundAuditRecord(r);
    expect(boundAuditRecord(once)).toEqual(once);
    expect(canonicalJson(boundAuditRecord(once))).toBe(canonicalJson(once));
  });
});

describe('the per-file digests of a record (#16)', () => {
  it('keeps whole entries of request.files and outcome.files within their budget and names the cut', () => {
    const entries = Array.from({ length: 200 }, (_, i) => ({
      name: `${'n'.repeat(200)}${i}`,
      bytes: i,
      sha256: 'f'.repeat(64),
    }));
    const bounded = boundAuditRecord(
      record({
        request: { profile: 'sandbox', files: entries },
        outcome: { status: 'succeeded', redactions: 0, truncated: false, files: entries },
      }),
    );
    for (const [list, field] of [
      [bounded.request.files, 'request.files'],
      [bounded.outcome?.files, 'outcome.files'],
    ] as const) {
      expect(Buffer.byteLength(JSON.stringify(list))).toBeLessThanOrEqual(
        AUDIT_FIELD_BUDGETS.fileEntriesTotal,
      );
      expect(list?.length).toBeGreaterThan(0);
      expect(list).toEqual(entries.slice(0, list?.length));
      expect(bounded.cut).toContainEqual({
        field,
        bytes: Buffer.byteLength(JSON.stringify(entries)),
        sha256: sha(JSON.stringify(entries)),
        keptBytes: Buffer.byteLength(JSON.stringify(list)),
      });
    }
    expect(boundAuditRecord(bounded)).toEqual(bounded);
  });
});

describe('boundAuditRecord: dataset objects and artifacts (#16)', () => {
  const object = (i: number) => ({
    dataset: 'samples',
    bucket: 'custody-local-datasets',
    key: `samples/${'k'.repeat(900)}-${i}.csv`,
    etag: '"0123456789abcdef0123456789abcdef"',
    bytes: 10,
    sha256: 'a'.repeat(64),
  });

  it('keeps a list that fits whole, and cuts a longer one to a prefix named with its whole size and sha256', () => {
    const few = [object(1), object(2)];
    expect(
      boundAuditRecord(
        record({ outcome: { status: 'succeeded', redactions: 0, truncated: false, datasets: few } }),
      ).outcome?.datasets,
    ).toEqual(few);

    const many = Array.from({ length: 256 }, (_, i) => object(i));
    const bounded = boundAuditRecord(
      record({ outcome: { status: 'succeeded', redactions: 0, truncated: false, datasets: many } }),
    );
    const kept = bounded.outcome?.datasets ?? [];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(many.length);
    expect(kept).toEqual(many.slice(0, kept.length));
    expect(JSON.stringify(kept).length).toBeLessThanOrEqual(AUDIT_FIELD_BUDGETS.dataObjectsTotal);
    expect(bounded.cut).toContainEqual({
      field: 'outcome.datasets',
      bytes: JSON.stringify(many).length,
      sha256: sha(JSON.stringify(many)),
      keptBytes: JSON.stringify(kept).length,
    });
    expect(boundAuditRecord(bounded)).toEqual(bounded);
  });
});
