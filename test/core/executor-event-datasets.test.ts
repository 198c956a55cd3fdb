/** The executor's event at its edge (#16 part): dataset objects are checked before anything runs. */
import { describe, expect, it } from 'vitest';
import { parseSandboxEvent } from '../../lambda/core/executor-event.ts';

const event = (datasets: unknown) => ({
  executionId: 'EX1',
  language: 'python',
  code: 'print(1)',
  limits: { timeoutMs: 1000, memoryMiB: 64, maxOutputBytes: 1024 },
  datasets,
});

describe('Executor event: datasets', () => {
  it('takes dataset name -> key -> base64 bytes, keys as relative paths', () => {
    const parsed = parseSandboxEvent(event({ samples: { 'iris.csv': 'YQ==', 'weather/x.json': 'e30=' } }));
    expect(parsed).toEqual({
      ok: true,
      request: expect.objectContaining({
        datasets: { samples: { 'iris.csv': 'YQ==', 'weather/x.json': 'e30=' } },
      }),
    });
  });

  it.each([
    ['a key that climbs out of its folder', { samples: { '../etc/passwd': 'YQ==' } }, /samples.*\.\./],
    ['an absolute key', { samples: { '/etc/passwd': 'YQ==' } }, /relative path/],
    ['bytes that are not base64', { samples: { 'a.csv': 'not base64!' } }, /datasets\.samples/],
    [
      'a dataset name that is no folder name',
      { '../x': { 'a.csv': 'YQ==' } },
      /datasets\.\.\.\/x: Invalid key/,
    ],
  ])('refuses %s, naming it', (_what, datasets, message) => {
    const parsed = parseSandboxEvent(event(datasets));
    expect(parsed.ok).toBe(false);
    expect(parsed.ok ? '' : parsed.message).toMatch(message);
  });
});
