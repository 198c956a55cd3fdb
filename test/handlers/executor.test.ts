/** The executor Lambda handler: validation at the edge, one log line without contents. */
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';
import { ValidationError } from '../../lambda/core/errors.ts';
import { closeExecutorSandbox, handler } from '../../lambda/handlers/executor.ts';

const LIMITS = { timeoutMs: 5_000, memoryMiB: 64, maxOutputBytes: 4_096 };
let stdoutWrite: MockInstance<typeof process.stdout.write>;
const logged = () => stdoutWrite.mock.calls.map((call) => String(call[0])).join('');

beforeEach(() => {
  stdoutWrite = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  stdoutWrite.mockRestore();
});
afterAll(() => closeExecutorSandbox());

describe('executor handler', () => {
  it('runs a valid event and returns the sandbox result', async () => {
    const result = await handler({
      executionId: 'exec-1',
      language: 'javascript',
      code: 'console.log("visible-output"); process.env.TOKEN.length',
      limits: LIMITS,
      env: { TOKEN: 'super-secret-token' },
    });
    expect(result).toMatchObject({ status: 'succeeded', result: '18', stdout: 'visible-output\n' });
  });

  it('takes binary files as base64 and gzip and answers them in their wire form (#16)', async () => {
    const bytes = Buffer.from([0, 0xff, 0xfe, 0x80]);
    const result = await handler({
      executionId: 'exec-bin',
      language: 'javascript',
      code: 'files.writeBytes("a.bin", files.readBytes("in.bin")); files.writeBytes("b.bin", files.readBytes("z.bin"))',
      limits: LIMITS,
      files: {
        'in.bin': { base64: bytes.toString('base64') },
        'z.bin': { gzip: gzipSync(bytes).toString('base64') },
      },
    });
    expect(result).toMatchObject({
      status: 'succeeded',
      files: { 'a.bin': { base64: 'AP/+gA==' }, 'b.bin': { base64: 'AP/+gA==' } },
    });
  });

  it('logs one structured line per execution without code, output or secrets', async () => {
    await handler({
      executionId: 'exec-2',
      language: 'javascript',
      code: 'console.log("visible-output"); "the-code-marker"',
      limits: LIMITS,
      env: { TOKEN: 'super-secret-token' },
      files: { 'in.txt': 'input-file-content' },
    });
    const lines = logged()
      .split('\n')
      .filter((line) => line.includes('exec-2'));
    expect(lines).toHaveLength(1);
    const entry = JSON.parse(lines[0] as string);
    expect(entry).toMatchObject({
      message: 'execution',
      executionId: 'exec-2',
      status: 'succeeded',
      variables: 1,
    });
    for (const secret of [
      'visible-output',
      'the-code-marker',
      'super-secret-token',
      'input-file-content',
      'TOKEN',
    ]) {
      // Nowhere in the log, not only in the execution's own line.
      expect(logged()).not.toContain(secret);
    }
  });

  it('runs Python through the same path', async () => {
    const result = await handler({
      executionId: 'exec-3',
      language: 'python',
      code: '6 * 7',
      limits: LIMITS,
    });
    expect(result).toMatchObject({ status: 'succeeded', result: '42' });
  });

  it('passes a session state through, from one call to the next, and logs only its size', async () => {
    const first = await handler({
      executionId: 'exec-s1',
      language: 'python',
      code: "carried_marker_name = 41\nopen('kept.txt', 'w').write('kept')",
      limits: LIMITS,
      session: {},
    });
    expect(first.state?.dropped).toEqual([]);
    const second = await handler({
      executionId: 'exec-s2',
      language: 'python',
      code: "carried_marker_name + 1, open('kept.txt').read()",
      limits: LIMITS,
      session: { state: first.state?.carried },
    });
    expect(second).toMatchObject({ status: 'succeeded', result: "(42, 'kept')" });
    const line = logged()
      .split('\n')
      .find((entry) => entry.includes('exec-s2'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ stateBytes: expect.any(Number), droppedNames: 0 });
    expect(logged()).not.toContain('carried_marker_name');
    expect(logged()).not.toContain('kept.txt');
  });

  it('refuses a session state file that would leave the working folder', async () => {
    const attempt = handler({
      executionId: 'exec-s3',
      language: 'javascript',
      code: '1',
      limits: LIMITS,
      session: { state: { files: { '../../etc/cron.d/x': 'eA==' } } },
    });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/session\.state\.files.*must not contain/);
  });

  it('refuses an invalid event, naming each wrong field, and runs nothing', async () => {
    const attempt = handler({
      executionId: 'exec-4',
      language: 'ruby',
      code: 'puts 1',
      limits: { timeoutMs: -1, memoryMiB: 64, maxOutputBytes: 10 },
      files: { '../escape': 'x' },
    });
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/language.*limits\.timeoutMs.*files/s);
  });

  it('refuses an event that is not an object', async () => {
    await expect(handler('run this')).rejects.toThrow(/invalid executor event: \(event\)/);
  });
});
