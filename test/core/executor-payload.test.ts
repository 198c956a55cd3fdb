import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseSandboxResult } from '../../lambda/adapters/aws/sandbox-result-schema.ts';
import { parseSandboxEvent } from '../../lambda/core/executor-event.ts';
import { encodeSandboxEvent, encodeSandboxResult } from '../../lambda/core/executor-payload.ts';
import { type FileValue, fileMap } from '../../lambda/core/file-map.ts';
import { MAX_EXECUTOR_PAYLOAD_BYTES } from '../../lambda/core/limits.ts';
import type { SandboxRequest, SandboxResult } from '../../lambda/core/types.ts';
import { allByteValues } from '../support/binary-samples.ts';

const LIMITS = { timeoutMs: 1000, memoryMiB: 64, maxOutputBytes: 1024 * 1024 };

function request(files: Record<string, FileValue>): SandboxRequest {
  return {
    executionId: 'e1',
    language: 'python',
    code: 'pass',
    limits: LIMITS,
    files: fileMap(Object.entries(files)),
  };
}

function result(files: Record<string, FileValue>, stdout = ''): SandboxResult {
  return {
    status: 'succeeded',
    stdout,
    stderr: '',
    stdoutTruncated: false,
    stderrTruncated: false,
    files: fileMap(Object.entries(files)),
    filesTruncated: false,
    timings: { startMs: 1, runMs: 2 },
  };
}

describe('the executor event', () => {
  it('carries text as text and bytes as base64, and parses back to the same files', () => {
    const blob = allByteValues();
    const event = encodeSandboxEvent(request({ 'a.txt': 'grüße', 'b.bin': blob }));
    const wire = JSON.parse(event.json) as { files: Record<string, unknown> };
    expect(wire.files).toEqual({
      'a.txt': 'grüße',
      'b.bin': { base64: Buffer.from(blob).toString('base64') },
    });
    const parsed = parseSandboxEvent(JSON.parse(event.json));
    expect(parsed.ok && parsed.request.files).toEqual({ 'a.txt': 'grüße', 'b.bin': blob });
  });

  it('gzips the files only when the plain event would pass the limit, and parses back exactly', () => {
    // Control characters escape to six bytes each in JSON: 1.5 MiB of them is 9 MiB plain.
    const text = '\u0001'.repeat(1.5 * 1024 * 1024);
    const ones = new Uint8Array(2 * 1024 * 1024).fill(0xff);
    const event = encodeSandboxEvent(request({ 'ctl.txt': text, 'ones.bin': ones, 'small.txt': 'hi' }));
    expect(event.bytes).toBeLessThan(MAX_EXECUTOR_PAYLOAD_BYTES);
    const wire = JSON.parse(event.json) as { files: Record<string, unknown> };
    expect(wire.files['ctl.txt']).toHaveProperty('gzip');
    expect(wire.files['ones.bin']).toHaveProperty('gzip');
    expect(wire.files['small.txt']).toBe('hi');
    const parsed = parseSandboxEvent(JSON.parse(event.json));
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.request.files?.['ctl.txt']).toBe(text);
    expect(Buffer.from(parsed.request.files?.['ones.bin'] as Uint8Array).equals(Buffer.from(ones))).toBe(
      true,
    );
  });

  it('says how large an event is that no compression brings under the limit', () => {
    const event = encodeSandboxEvent(request({ 'noise.bin': new Uint8Array(randomBytes(5 * 1024 * 1024)) }));
    expect(event.bytes).toBeGreaterThan(MAX_EXECUTOR_PAYLOAD_BYTES);
  });

  it('refuses a gzip member that inflates past the input limit', () => {
    const event = JSON.parse(encodeSandboxEvent(request({})).json) as Record<string, unknown>;
    const bomb = Buffer.from(gzipSync(Buffer.alloc(5 * 1024 * 1024))).toString('base64');
    const parsed = parseSandboxEvent({ ...event, files: { 'x.bin': { gzip: bomb } } });
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.message).toContain('gzip');
  });
});

describe('the executor answer', () => {
  it('round-trips binary output files through its wire form', () => {
    const blob = allByteValues();
    const wire = encodeSandboxResult(result({ 'b.bin': blob, 't.txt': 'ok' }));
    const parsed = parseSandboxResult(JSON.parse(JSON.stringify(wire)));
    expect(parsed.ok && parsed.result.files).toEqual({ 'b.bin': blob, 't.txt': 'ok' });
  });

  it('stays under the limit: files dropped and marked truncated, then stdout cut', () => {
    const noise = new Uint8Array(randomBytes(600 * 1024));
    const wire = encodeSandboxResult(result({ 'n.bin': noise }, '\u0001'.repeat(300 * 1024)), 1024 * 1024);
    const json = JSON.stringify(wire);
    expect(Buffer.byteLength(json)).toBeLessThanOrEqual(1024 * 1024);
    expect(wire.files).toEqual({});
    expect(wire.filesTruncated).toBe(true);
    expect(wire.stdoutTruncated).toBe(true);
    expect(parseSandboxResult(JSON.parse(json)).ok).toBe(true);
  });
});
