/**
 * Issue #12, class 6: a file named `__proto__`, `constructor`, `toString` or `hasOwnProperty` is an
 * ordinary entry of every file map and of every schema that reads one (zod's own records drop
 * `__proto__` silently), from the broker's request to the executor's event and result.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseSandboxResult } from '../../lambda/adapters/aws/sandbox-result-schema.ts';
import { parseExecutionRequest } from '../../lambda/broker/request.ts';
import { seal } from '../../lambda/broker/seal.ts';
import { canonicalJson } from '../../lambda/core/canonical-json.ts';
import { parseSandboxEvent } from '../../lambda/core/executor-event.ts';
import { fileMap, fileMapSchema, fileOf, unsafeFileNameReason } from '../../lambda/core/file-map.ts';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { CappedFiles } from '../../lambda/sandbox/capped-text.ts';

const NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
// JSON text, as it arrives: an object literal's `__proto__` would set the prototype instead.
const FILES_JSON = `{${NAMES.map((n) => `"${n}":"text of ${n}"`).join(',')}}`;

function expectAllNames(map: Record<string, unknown> | undefined): void {
  expect(map && Object.keys(map)).toEqual(NAMES);
  for (const name of NAMES) expect(map && fileOf(map, name)).toBe(`text of ${name}`);
}

describe('fileMap', () => {
  it('holds every name as its own entry and inherits nothing', () => {
    const map = fileMap(NAMES.map((n) => [n, `text of ${n}`]));
    expectAllNames(map);
    expect(Object.getPrototypeOf(map)).toBeNull();
    expect(fileOf(fileMap(), 'constructor')).toBeUndefined();
  });
});

describe('fileMapSchema', () => {
  const schema = fileMapSchema(z.string().regex(/^[\w.]+$/, 'bad name'));

  it('keeps __proto__ and every inherited name', () => {
    expectAllNames(schema.parse(JSON.parse(FILES_JSON)));
  });

  it('marks an issue about a name as one, with the name as its path', () => {
    const parsed = schema.safeParse(JSON.parse('{"a/b":"x"}'));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({
      path: ['a/b'],
      message: 'bad name',
      params: { fileName: true },
    });
  });

  it('refuses a value that is not text, and a map that is not an object', () => {
    expect(schema.safeParse(JSON.parse('{"__proto__":{"polluted":true}}')).error?.issues[0]?.path).toEqual([
      '__proto__',
    ]);
    expect(schema.safeParse(['a']).success).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('every file map on the way', () => {
  it('the broker request keeps all four input names', () => {
    const request = parseExecutionRequest(
      `{"profile":"p","language":"python","code":"1","files":${FILES_JSON}}`,
    );
    expectAllNames(request.files);
  });

  it('the broker request still names a bad file name as one', () => {
    expect(() =>
      parseExecutionRequest('{"profile":"p","language":"python","code":"1","files":{"../x":"y"}}'),
    ).toThrow(/^files\["\.\.\/x"\] \(file name\): must be a relative path/);
  });

  it('the executor event keeps them', () => {
    const event = JSON.parse(
      `{"executionId":"e","language":"python","code":"1","limits":{"timeoutMs":1000,"memoryMiB":64,"maxOutputBytes":1000},"files":${FILES_JSON}}`,
    );
    const parsed = parseSandboxEvent(event);
    expect(parsed.ok).toBe(true);
    expectAllNames(parsed.ok ? (parsed.request.files as Record<string, string>) : undefined);
  });

  it('the executor result keeps them', () => {
    const parsed = parseSandboxResult(
      JSON.parse(
        `{"status":"succeeded","stdout":"","stderr":"","stdoutTruncated":false,"stderrTruncated":false,"files":${FILES_JSON},"filesTruncated":false,"timings":{"startMs":0,"runMs":0}}`,
      ),
    );
    expect(parsed.ok).toBe(true);
    expectAllNames(parsed.ok ? (parsed.result.files as Record<string, string>) : undefined);
  });

  it('CappedFiles counts, replaces and returns them', () => {
    const files = new CappedFiles(10_000, 4);
    for (const name of NAMES) expect(files.add(name, `text of ${name}`)).toBe(true);
    expect(files.add('constructor', 'text of constructor')).toBe(true);
    expect(files.add('fifth', 'x')).toBe(false);
    expectAllNames(files.toRecord());
  });

  it('sealing returns and hashes them (a __proto__ file changes the output hash)', () => {
    const result = (files: Record<string, string>): SandboxResult => ({
      status: 'succeeded',
      stdout: '',
      stderr: '',
      stdoutTruncated: false,
      stderrTruncated: false,
      files,
      filesTruncated: false,
      timings: { startMs: 0, runMs: 0 },
    });
    const all = seal(result(JSON.parse(FILES_JSON)), []);
    expectAllNames(all.output.files);
    const other = seal(result(JSON.parse(FILES_JSON.replace('text of __proto__', 'other'))), []);
    expect(other.outputSha256).not.toBe(all.outputSha256);
    expect(canonicalJson(JSON.parse('{"__proto__":1}'))).toBe('{"__proto__":1}');
  });
});

describe('unsafeFileNameReason', () => {
  it('accepts nested relative names and rejects climbing, absolute and empty ones', () => {
    expect(unsafeFileNameReason('data/in.csv')).toBeUndefined();
    expect(unsafeFileNameReason('../etc/passwd')).toMatch(/segments/);
    expect(unsafeFileNameReason('/etc/passwd')).toMatch(/relative/);
    expect(unsafeFileNameReason('')).toMatch(/empty/);
  });
});
