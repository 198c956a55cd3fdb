/**
 * Hostile session state (#15). The state a call starts from is restored INSIDE the sandbox: a
 * forged blob that runs code when it is read (a pickle's REDUCE, a definition's source) runs with
 * the sandbox's rights only, like the code itself. A state too large or with unsafe file names is
 * refused before anything runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambda/core/errors.ts';
import type { SandboxState } from '../../lambda/core/session.ts';
import type { Language } from '../../lambda/core/types.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { type Canaries, expectStillWorks, hostFileExists, LIMITS, makeCanaries, request } from './helpers.ts';

let python: PythonSandbox;
const javascript = new QuickJsSandbox();
let canaries: Canaries;

beforeAll(async () => {
  python = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 1 });
  canaries = await makeCanaries();
  await python.warmUp();
});

afterAll(async () => {
  await Promise.all([python.close(), javascript.close()]);
  await canaries.dispose();
});

const PY_LIMITS = { timeoutMs: 20_000, memoryMiB: 128, maxOutputBytes: 8_192 };

/** A pickle (protocol 0) that calls exec() on `source` when it is read: the classic pickle attack. */
function execPickle(source: string): string {
  const encoded = Buffer.from(source).toString('base64');
  const pickle = `cbuiltins\nexec\n(Vexec(__import__('base64').b64decode('${encoded}').decode(), {})\ntR.`;
  return Buffer.from(pickle, 'latin1').toString('base64');
}

const forgedPython = (data: string): SandboxState => ({
  files: {},
  python: JSON.stringify({ v: 1, modules: [], defs: [], names: ['victim'], data }),
});

describe('hostile session state', () => {
  it('runs a forged Python state that executes code at unpickle time with the sandbox’s rights only', async () => {
    const path = JSON.stringify(canaries.readablePath);
    const payload = `
import js
out = {}
def attempt(label, action):
    try:
        out[label] = str(action())
    except BaseException as e:
        out[label] = 'blocked: ' + type(e).__name__
attempt('open', lambda: open(${path}).read())
attempt('denoRead', lambda: js.Deno.readTextFileSync(${path}))
attempt('env', lambda: js.Deno.env.get(${JSON.stringify(canaries.envName)}))
attempt('write', lambda: js.Deno.writeTextFileSync(${JSON.stringify(canaries.writablePath)}, 'x'))
attempt('spawn', lambda: js.Deno.Command.new('/bin/sh').outputSync())
print('unpickled-in-sandbox', sorted(out.items()))
`;
    const result = await python.run(
      request('python', '"after"', {
        limits: PY_LIMITS,
        session: { state: forgedPython(execPickle(payload)) },
      }),
    );
    // The payload ran (inside), every reach past the sandbox was refused, and the call went on.
    expect(result).toMatchObject({ status: 'succeeded', result: "'after'" });
    expect(result.stdout).toContain('unpickled-in-sandbox');
    for (const label of ['open', 'denoRead', 'env', 'write', 'spawn']) {
      expect(result.stdout).toMatch(new RegExp(`\\('${label}', '(blocked: \\w+|None)'\\)`));
    }
    expect(canaries.leakedInto(result)).toBe(false);
    expect(hostFileExists(canaries.writablePath)).toBe(false);
    // What the forged data should have held is named, not silently lost.
    expect(result.state?.dropped).toContain('victim');
    await expectStillWorks(python, 'python');
  });

  it('bounds a Python state that expands past the memory limit when read', async () => {
    const bomb = Buffer.from('cbuiltins\nbytearray\n(I1500000000\ntR.', 'latin1').toString('base64');
    const state = forgedPython(bomb);
    const result = await python.run(request('python', '1', { limits: PY_LIMITS, session: { state } }));
    expect(result.status === 'succeeded' || result.status === 'out_of_memory').toBe(true);
    // Nothing the call made is kept; the session goes on from the state it started with.
    expect(result.state?.carried).toEqual(state);
    await expectStillWorks(python, 'python');
  });

  it('runs a forged JavaScript definition with the sandbox’s rights only', async () => {
    const probe =
      '(globalThis.reach = [typeof require, typeof std, typeof os, typeof Deno, typeof process.binding, typeof fetch].join()), function victim() {}';
    const state: SandboxState = {
      files: {},
      javascript: JSON.stringify({ v: 1, defs: [['victim', probe]], data: [] }),
    };
    const result = await javascript.run(request('javascript', 'reach', { session: { state } }));
    expect(result).toMatchObject({
      status: 'succeeded',
      result: '"undefined,undefined,undefined,undefined,undefined,undefined"',
    });
    expect(canaries.leakedInto(result)).toBe(false);
  });

  it.each<Language>(['python', 'javascript'])(
    'refuses a %s state larger than the session allows, before anything runs',
    async (language) => {
      const sandbox = language === 'python' ? python : javascript;
      const state: SandboxState = { files: { 'big.bin': Buffer.alloc(3_000).toString('base64') } };
      const run = sandbox.run(
        request(language, '1', { limits: LIMITS, session: { state, maxStateBytes: 2_048 } }),
      );
      await expect(run).rejects.toThrow(ValidationError);
      await expect(run).rejects.toThrow(/session state is \d+ bytes, more than the 2048 allowed/);
    },
  );

  it.each<[Language, string]>([
    ['python', '../escape.txt'],
    ['javascript', '/etc/passwd'],
  ])('refuses a %s state file named %s', async (language, name) => {
    const sandbox = language === 'python' ? python : javascript;
    const state: SandboxState = { files: { [name]: 'eA==' } };
    await expect(sandbox.run(request(language, '1', { session: { state } }))).rejects.toThrow(
      /session state file name .* must/,
    );
  });
});
