/**
 * Binary files through the broker (#16): sizes refused at the edge of what Lambda and the profile
 * take (413, audited, nothing invoked), answers in their byte-safe form, secrets looked for in
 * bytes, and each file's sha256 in the audit record.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../lambda/core/api-schema.ts';
import { type FileValue, fileMap } from '../../lambda/core/file-map.ts';
import { MAX_EXECUTOR_PAYLOAD_BYTES } from '../../lambda/core/limits.ts';
import { parsePolicy } from '../../lambda/core/policy.ts';
import { allByteValues, expectedPng } from '../support/binary-samples.ts';
import { sandboxResult } from './fakes.ts';
import { body, brokerFixture, callers, errorOf, policyDocument, post, REPORT_TOKEN, run } from './fixture.ts';

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

/** The shipped-like policy with the `reports` profile at the largest inputs and code a policy allows. */
function bigPolicy() {
  const document = structuredClone(policyDocument) as typeof policyDocument & {
    profiles: { reports: Record<string, unknown> };
  };
  Object.assign(document.profiles.reports, { maxInputBytes: 4 * 1024 * 1024, maxCodeBytes: 1024 * 1024 });
  return parsePolicy(document);
}

describe('binary files through the broker', () => {
  it('refuses input files over the profile maxInputBytes with 413 naming it, audited, nothing run', async () => {
    const f = brokerFixture();
    const blob = new Uint8Array(1024 * 1024 + 1);
    const res = await f.api.handle(
      post(callers.agent, { ...run, files: { 'big.bin': { base64: b64(blob) } } }),
    );
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('PAYLOAD_TOO_LARGE');
    expect(errorOf(res).message).toContain('maxInputBytes of 1048576');
    expect(f.executor.calls).toHaveLength(0);
    expect(f.store.records.map((r) => r.event)).toEqual(['denied']);
    expect(f.store.records[0]?.decision).toMatchObject({ allowed: false, reason: 'PAYLOAD_TOO_LARGE' });
  });

  it('finds a hard-coded key written into a binary input file and refuses it, 403', async () => {
    const f = brokerFixture();
    const blob = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from(`key=${'AKIA'}Q3EGRJ7XZ2LMNPTW`),
      Buffer.from([0x80]),
    ]);
    const res = await f.api.handle(
      post(callers.agent, { ...run, files: { 'k.bin': { base64: b64(blob) } } }),
    );
    expect(res.statusCode).toBe(403);
    expect(errorOf(res).code).toBe('HARDCODED_CREDENTIAL');
    expect(f.executor.calls).toHaveLength(0);
  });

  it('refuses with 413, never 502, a request whose executor event would pass 6 MB, audited, nothing invoked', async () => {
    const f = brokerFixture({ policy: bigPolicy() });
    // 4 MiB of random bytes do not compress; code pads the body to just under its own limit.
    const files = { 'noise.bin': { base64: b64(randomBytes(4 * 1024 * 1024)) } };
    const shell = JSON.stringify({ ...run, profile: 'reports', code: '', files });
    const code = `# ${'x'.repeat(MAX_BODY_BYTES - Buffer.byteLength(shell) - 100)}`;
    const request = JSON.stringify({ ...run, profile: 'reports', code, files });
    expect(Buffer.byteLength(request)).toBeLessThan(MAX_BODY_BYTES);
    const res = await f.api.handle(post(callers.agent, request));
    expect(res.statusCode).toBe(413);
    expect(errorOf(res).code).toBe('PAYLOAD_TOO_LARGE');
    expect(errorOf(res).message).toContain(`payload limit of ${MAX_EXECUTOR_PAYLOAD_BYTES} bytes`);
    expect(f.credentials.calls).toHaveLength(0);
    expect(f.executor.calls).toHaveLength(0);
    expect(f.store.records.map((r) => r.event)).toEqual(['denied']);
  });

  it('lets the same files through when they compress', async () => {
    const f = brokerFixture({ policy: bigPolicy() });
    const ones = new Uint8Array(4 * 1024 * 1024).fill(0xff);
    const files = { 'ones.bin': { base64: b64(ones) } };
    const shell = JSON.stringify({ ...run, profile: 'reports', code: '', files });
    const code = `# ${'x'.repeat(MAX_BODY_BYTES - Buffer.byteLength(shell) - 100)}`;
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports', code, files }));
    expect(res.statusCode).toBe(200);
    expect(Buffer.from(f.executor.calls[0]?.request.files?.['ones.bin'] as Uint8Array).equals(ones)).toBe(
      true,
    );
  });

  it('hands the executor bytes, answers them as base64 with their media type, and audits each sha256', async () => {
    const f = brokerFixture();
    const blob = allByteValues();
    const png = expectedPng();
    f.executor.respond = (request) =>
      sandboxResult({
        files: fileMap<FileValue>([
          ['copy.bin', request.files?.['in.bin'] as Uint8Array],
          ['chart.png', png],
          ['notes.txt', 'grüße'],
        ]),
      });
    const res = await f.api.handle(
      post(callers.agent, { ...run, files: { 'in.bin': { base64: b64(blob) }, 'in.txt': 'text' } }),
    );
    expect(res.statusCode).toBe(200);
    expect(f.executor.calls[0]?.request.files).toEqual({ 'in.bin': blob, 'in.txt': 'text' });
    const answer = body<{ files: Record<string, unknown> }>(res);
    expect(answer.files).toEqual({
      'copy.bin': { base64: b64(blob), mediaType: 'application/octet-stream', bytes: blob.length },
      'chart.png': { base64: b64(png), mediaType: 'image/png', bytes: png.length },
      'notes.txt': 'grüße',
    });

    const [started, completed] = f.store.records;
    expect(started?.request.files).toEqual([
      { name: 'in.bin', bytes: blob.length, sha256: sha256(blob) },
      { name: 'in.txt', bytes: 4, sha256: sha256('text') },
    ]);
    expect(completed?.request.files).toEqual(started?.request.files);
    expect(completed?.outcome?.files).toEqual([
      { name: 'copy.bin', bytes: blob.length, sha256: sha256(blob) },
      { name: 'chart.png', bytes: png.length, sha256: sha256(png) },
      { name: 'notes.txt', bytes: Buffer.byteLength('grüße'), sha256: sha256('grüße') },
    ]);
    // Each recorded digest matches the bytes the answer carries.
    for (const entry of completed?.outcome?.files ?? []) {
      const value = answer.files[entry.name] as string | { base64: string };
      const bytes = typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.base64, 'base64');
      expect(sha256(bytes)).toBe(entry.sha256);
    }
  });

  it('withholds a binary output holding a secret value or a credential, and counts the redaction', async () => {
    const f = brokerFixture();
    const token = Buffer.from(REPORT_TOKEN);
    const withSecret = Buffer.concat([Buffer.from([0xff, 0x00, 0x89]), token, Buffer.from([0xfe])]);
    const withKey = Buffer.concat([
      Buffer.from([0xff]),
      Buffer.from(`${'AKIA'}Q3EGRJ7XZ2LMNPTW`),
      Buffer.from([0xfe]),
    ]);
    const clean = allByteValues();
    f.executor.respond = () =>
      sandboxResult({
        files: fileMap<FileValue>([
          ['secret.bin', new Uint8Array(withSecret)],
          ['key.bin', new Uint8Array(withKey)],
          ['clean.bin', clean],
        ]),
      });
    const res = await f.api.handle(post(callers.agent, { ...run, profile: 'reports' }));
    expect(res.statusCode).toBe(200);
    const answer = body<{ files: Record<string, unknown> }>(res);
    expect(answer.files['secret.bin']).toMatch(/^\[REDACTED:REPORT_API_TOKEN\] binary file withheld/);
    expect(answer.files['key.bin']).toMatch(/^\[REDACTED:credential\] binary file withheld/);
    expect(answer.files['clean.bin']).toMatchObject({ bytes: clean.length });
    expect(res.body).not.toContain(token.toString('base64').slice(0, 12));
    expect(f.store.records[1]?.outcome?.redactions).toBe(2);
  });
});
