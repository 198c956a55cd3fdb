/**
 * The executor handler's module registers its pre-start extension by default, before its import
 * ends (Lambda accepts registration during init only), not with CUSTODY_PRESTART_EXTENSION=0, and
 * loads and logs when the Extensions API refuses it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, type MockInstance, vi } from 'vitest';

let server: Server | undefined;
let closeSandbox: (() => Promise<void>) | undefined;
let writes: MockInstance<typeof process.stdout.write>[] = [];
const logged = () => writes.flatMap((spy) => spy.mock.calls.map((call) => String(call[0]))).join('');

beforeEach(() => {
  // The logger writes warnings to stderr, other lines to stdout.
  writes = [process.stdout, process.stderr].map((stream) =>
    vi.spyOn(stream, 'write').mockImplementation(() => true),
  );
});
afterEach(async () => {
  vi.unstubAllEnvs();
  const open = server;
  server = undefined;
  if (open) {
    const closed = new Promise((resolve) => open.close(resolve));
    open.closeAllConnections(); // the extension's parked next-event request
    await closed;
  }
  await closeSandbox?.();
  closeSandbox = undefined;
  for (const spy of writes) spy.mockRestore();
});

/** An Extensions API that answers registration with `status` and parks every next-event request. */
async function extensionsApi(status: number): Promise<{ registrations: string[]; runtimeApi: string }> {
  const registrations: string[] = [];
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/2020-01-01/extension/register') {
        registrations.push(String(req.headers['lambda-extension-name']));
        res.writeHead(status, { 'Lambda-Extension-Identifier': 'ext-1' }).end('{}');
      } else if (req.url !== '/2020-01-01/extension/event/next') {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { registrations, runtimeApi: `127.0.0.1:${port}` };
}

/** Imports the handler's module afresh (its init) with the environment as stubbed. */
async function importHandler(): Promise<void> {
  vi.resetModules();
  const module = await import('../../lambda/handlers/executor.ts');
  closeSandbox = module.closeExecutorSandbox;
}

describe('executor handler: pre-start extension', () => {
  it('registers by default, before its module has finished loading', async () => {
    const api = await extensionsApi(200);
    vi.stubEnv('AWS_LAMBDA_RUNTIME_API', api.runtimeApi);
    vi.stubEnv('CUSTODY_PRESTART_EXTENSION', undefined);
    await importHandler();
    expect(api.registrations).toEqual(['custody-python-prestart']);
  });

  it('does not register with CUSTODY_PRESTART_EXTENSION=0', async () => {
    const api = await extensionsApi(200);
    vi.stubEnv('AWS_LAMBDA_RUNTIME_API', api.runtimeApi);
    vi.stubEnv('CUSTODY_PRESTART_EXTENSION', '0');
    await importHandler();
    expect(api.registrations).toEqual([]);
  });

  it('loads and logs when the Extensions API refuses the registration', async () => {
    const api = await extensionsApi(403);
    vi.stubEnv('AWS_LAMBDA_RUNTIME_API', api.runtimeApi);
    vi.stubEnv('CUSTODY_PRESTART_EXTENSION', undefined);
    await importHandler();
    expect(api.registrations).toEqual(['custody-python-prestart']);
    // (An extension of an earlier import may log its own end, when its API closes, here too.)
    const stops = logged()
      .split('\n')
      .filter((l) => l.includes('pre-start extension stopped'))
      .map((l) => JSON.parse(l).reason);
    expect(stops).toContain('registration refused (HTTP 403)');
  });
});
