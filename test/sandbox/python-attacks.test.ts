/**
 * Hostile Python against the Pyodide-in-Deno sandbox, including every route across Pyodide's
 * Python-to-JavaScript bridge. Each case asserts the boundary held and that the next execution
 * still works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SandboxResult } from '../../lambda/core/types.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { type Canaries, expectStillWorks, hostFileExists, LIMITS, makeCanaries, request } from './helpers.ts';

let sandbox: PythonSandbox;
let canaries: Canaries;

beforeAll(async () => {
  sandbox = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 1 });
  canaries = await makeCanaries();
  await sandbox.warmUp();
});

afterAll(async () => {
  await sandbox.close();
  await canaries.dispose();
});

const py = (code: string, extra = {}) => sandbox.run(request('python', code, extra));
const resultOf = (r: SandboxResult) => (r.status === 'succeeded' ? r.result : undefined);

/** Runs each JavaScript snippet through a bridge route and returns what each one got (or its error). */
function bridgeAttempts(snippets: Record<string, string>): string {
  const lines = Object.entries(snippets).map(
    ([label, body]) => `
try:
    out[${JSON.stringify(label)}] = str(${body})
except BaseException as e:
    out[${JSON.stringify(label)}] = 'blocked: ' + type(e).__name__`,
  );
  return `out = {}\n${lines.join('\n')}\nout`;
}

describe('Python sandbox under attack', () => {
  it('does not expose the host environment, through os.environ or the bridge', async () => {
    const result = await py(
      `import os\n${bridgeAttempts({
        environ: `dict(os.environ).get(${JSON.stringify(canaries.envName)}, 'absent')`,
        deno: `__import__('js').Deno.env.get(${JSON.stringify(canaries.envName)})`,
        denoAll: `__import__('js').Deno.env.toObject()`,
        process: `__import__('js').process.env`,
      })}`,
    );
    expect(result.status).toBe('succeeded');
    expect(resultOf(result)).toContain("'environ': 'absent'");
    expect(resultOf(result)).toContain("'deno': 'blocked");
    expect(resultOf(result)).toContain("'denoAll': 'blocked");
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'python');
  });

  it('cannot read a host file, from Python or through the bridge', async () => {
    const path = JSON.stringify(canaries.readablePath);
    const result = await py(
      bridgeAttempts({
        open: `open(${path}).read()`,
        deno: `__import__('js').Deno.readTextFileSync(${path})`,
        runJs: `__import__('pyodide.code').code.run_js("Deno.readTextFileSync(" + ${JSON.stringify(path)} + ")")`,
        ctor: `__import__('js').constructor.constructor("return Deno.readTextFileSync(" + ${JSON.stringify(path)} + ")")()`,
        etc: `__import__('js').Deno.readTextFileSync('/etc/passwd')`,
      }),
    );
    expect(result.status).toBe('succeeded');
    for (const label of ['open', 'deno', 'runJs', 'ctor', 'etc']) {
      expect(resultOf(result)).toContain(`'${label}': 'blocked`);
    }
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'python');
  });

  it('cannot write a host file', async () => {
    const path = JSON.stringify(canaries.writablePath);
    const result = await py(
      bridgeAttempts({
        deno: `__import__('js').Deno.writeTextFileSync(${path}, 'pwned')`,
        runJs: `__import__('pyodide.code').code.run_js("Deno.writeTextFileSync(" + ${JSON.stringify(path)} + ", 'x')")`,
      }),
    );
    expect(resultOf(result)).toContain("'deno': 'blocked");
    expect(resultOf(result)).toContain("'runJs': 'blocked");
    expect(hostFileExists(canaries.writablePath)).toBe(false);
    await expectStillWorks(sandbox, 'python');
  });

  it('cannot open a socket to a loopback listener', async () => {
    const port = canaries.port;
    const result = await py(`
import js, socket
from pyodide.ffi import run_sync
out = {}
try:
    await js.fetch('http://127.0.0.1:${port}/')
    out['fetch'] = 'connected'
except BaseException as e:
    out['fetch'] = 'blocked: ' + type(e).__name__
try:
    await js.Deno.connect(js.Object.fromEntries([['hostname', '127.0.0.1'], ['port', ${port}]]))
    out['connect'] = 'connected'
except BaseException as e:
    out['connect'] = 'blocked: ' + type(e).__name__
try:
    socket.create_connection(('127.0.0.1', ${port}), timeout=1)
    out['socket'] = 'connected'
except BaseException as e:
    out['socket'] = 'blocked: ' + type(e).__name__
out`);
    expect(resultOf(result)).not.toContain('connected');
    expect(canaries.connections()).toBe(0);
    await expectStillWorks(sandbox, 'python');
  });

  it('cannot resolve a name', async () => {
    const result = await py(`
import js
try:
    r = await js.Deno.resolveDns('localhost', 'A')
    out = 'resolved ' + str(r)
except BaseException as e:
    out = 'blocked: ' + type(e).__name__
out`);
    expect(resultOf(result)).toMatch(/blocked/);
    await expectStillWorks(sandbox, 'python');
  });

  it('cannot spawn a process', async () => {
    const result = await py(
      `import os, subprocess\n${bridgeAttempts({
        command: `__import__('js').Deno.Command.new('/bin/sh', __import__('pyodide.ffi').ffi.to_js({'args': ['-c', 'id']})).outputSync()`,
        subprocess: `subprocess.run(['id'])`,
      })}`,
    );
    expect(result.status === 'failed' ? result.error : result.status).toBe('succeeded');
    expect(resultOf(result)).toContain("'command': 'blocked");
    expect(resultOf(result)).toContain("'subprocess': 'blocked");
    expect(resultOf(result)).not.toContain('uid=');
    // os.system ends Pyodide's process: a failed execution, not a shell.
    const system = await py("import os\nos.system('id')");
    expect(system.status).toBe('failed');
    expect(system.stdout).not.toContain('uid=');
    await expectStillWorks(sandbox, 'python');
  });

  it('gains nothing by starting a worker', async () => {
    const source = `try { postMessage(Deno.readTextFileSync(${JSON.stringify(canaries.readablePath)})) } catch (e) { postMessage('blocked: ' + e.name) }`;
    const result = await py(`
import js, asyncio
from pyodide.ffi import create_proxy
got = []
try:
    url = 'data:text/javascript,' + js.encodeURIComponent(${JSON.stringify(source)})
    w = js.Worker.new(url, js.Object.fromEntries([['type', 'module']]))
    w.onmessage = create_proxy(lambda e: got.append(str(e.data)))
    for _ in range(100):
        if got: break
        await asyncio.sleep(0.02)
except BaseException as e:
    got.append('blocked: ' + type(e).__name__)
got`);
    expect(result.status).toBe('succeeded');
    // Workers are taken away (a fresh realm would show the host's details again).
    expect(resultOf(result)).toMatch(/^\['blocked: /);
    expect(canaries.leakedInto(result)).toBe(false);
    await expectStillWorks(sandbox, 'python');
  });

  it('keeps every Python-to-JavaScript route inside Deno permissions', async () => {
    const path = JSON.stringify(canaries.readablePath);
    const result = await py(`
import js, pyodide.code
out = {}
routes = {
  'import js': lambda: js.Deno.readTextFileSync(${path}),
  'constructor': lambda: js.constructor.constructor("return Deno.readTextFileSync('${canaries.readablePath}')")(),
  'run_js': lambda: pyodide.code.run_js("Deno.readTextFileSync('${canaries.readablePath}')"),
  'js.Deno': lambda: js.Deno.env.toObject(),
  'js.process': lambda: js.process.env.${canaries.envName},
  'js.require': lambda: js.require('fs').readFileSync(${path}, 'utf8'),
}
for name, route in routes.items():
    try:
        out[name] = 'got: ' + str(route())
    except BaseException as e:
        out[name] = 'blocked: ' + type(e).__name__ + ': ' + str(e)
try:
    mod = await pyodide.code.run_js("import('node:fs')")
    out['dynamic import'] = 'got: ' + str(mod.readFileSync(${path}, 'utf8'))
except BaseException as e:
    out['dynamic import'] = 'blocked: ' + type(e).__name__ + ': ' + str(e)
try:
    mod = await pyodide.code.run_js("import('node:process')")
    out['node:process'] = 'got: ' + str(mod.default.env.${canaries.envName})
except BaseException as e:
    out['node:process'] = 'blocked: ' + type(e).__name__ + ': ' + str(e)
out`);
    expect(result.status).toBe('succeeded');
    expect(canaries.leakedInto(result)).toBe(false);
    expect(resultOf(result)).not.toContain(canaries.fileContent);
    // Each route reached Deno and was refused by its permissions, not by a mistake in the attack.
    for (const route of ['import js', 'constructor', 'run_js', 'dynamic import']) {
      expect(resultOf(result)).toContain(
        `'${route}': 'blocked: JsException: NotCapable: Requires read access`,
      );
    }
    for (const route of ['js.Deno', 'js.process', 'node:process']) {
      expect(resultOf(result)).toContain(
        `'${route}': 'blocked: JsException: NotCapable: Requires env access`,
      );
    }
    await expectStillWorks(sandbox, 'python');
  });

  it('kills an infinite loop at the deadline', async () => {
    const result = await sandbox.run(
      request('python', 'while True:\n    pass', { limits: { ...LIMITS, timeoutMs: 500 } }),
    );
    expect(result.status).toBe('timed_out');
    await expectStillWorks(sandbox, 'python');
  });

  it('reports unbounded allocation as out_of_memory and keeps the executor alive', async () => {
    const result = await py('hoard = []\nwhile True:\n    hoard.append(bytearray(1 << 20))');
    expect(result.status).toBe('out_of_memory');
    await expectStillWorks(sandbox, 'python');
  });

  it('reports JavaScript-side allocation through the bridge as out_of_memory', async () => {
    const result = await py(
      'import js\nhoard = js.Array.new()\nwhile True:\n    hoard.push(js.Uint8Array.new(16 << 20).fill(1))',
    );
    expect(result.status).toBe('out_of_memory');
    await expectStillWorks(sandbox, 'python');
  });

  it('caps an output flood and marks it truncated', async () => {
    const result = await py('while True:\n    print("flood " * 100)');
    expect(result.status).toBe('output_limit');
    expect(result.stdoutTruncated).toBe(true);
    expect(Buffer.byteLength(result.stdout)).toBeLessThanOrEqual(LIMITS.maxOutputBytes);
    await expectStillWorks(sandbox, 'python');
  });

  it('turns deep recursion into a RecursionError', async () => {
    const result = await py(
      'import sys\nsys.setrecursionlimit(10**6)\ndef down(n):\n    return down(n + 1)\ndown(0)',
    );
    expect(['failed', 'out_of_memory']).toContain(result.status);
    await expectStillWorks(sandbox, 'python');
  });

  it('bounds a huge integer by memory or time', async () => {
    const result = await sandbox.run(
      request('python', 'x = 10 ** (10 ** 10)', { limits: { ...LIMITS, timeoutMs: 2_000 } }),
    );
    expect(['out_of_memory', 'timed_out', 'failed']).toContain(result.status);
    await expectStillWorks(sandbox, 'python');
  });

  it('leaves no global, file, timer or JavaScript state to the next execution', async () => {
    await py(`
import builtins, js, asyncio, os
builtins.leaked = 'left'
open('/tmp/left.txt', 'w').write('behind')
open('left.txt', 'w').write('behind')
js.globalThis.leaked = 'left'
asyncio.get_event_loop().call_later(0.05, lambda: print('LATE'))
asyncio.ensure_future(asyncio.sleep(10))`);
    const next = await py(`
import builtins, js, os
[hasattr(builtins, 'leaked'), os.path.exists('/tmp/left.txt'), os.listdir('.'), js.Reflect.has(js.globalThis, 'leaked')]`);
    expect(resultOf(next)).toBe('[False, False, [], False]');
    expect(next.stdout).not.toContain('LATE');
    expect(next.files).toEqual({});
  });

  it('does not show one execution its secret variables to the next', async () => {
    const first = await py('import os\nos.environ["API_TOKEN"]', { env: { API_TOKEN: 'tenant-a-secret' } });
    expect(resultOf(first)).toBe("'tenant-a-secret'");
    const second = await py('import os\ndict(os.environ)');
    expect(JSON.stringify(second)).not.toContain('tenant-a-secret');
  });
});
