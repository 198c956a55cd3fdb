/**
 * The executor's internal Lambda extension against a stand-in of the Extensions API: it holds the
 * freeze (asks for no next event) until the run has ended and the pool has settled, and it fails
 * open (the executor runs on) when the API refuses it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SettleExtension } from '../../lambda/handlers/prestart-extension.ts';

interface Api {
  runtimeApi: string;
  log: string[];
  registration: Promise<{ name: string | undefined; body: string }>;
  /** Resolves with the parked response of the n-th next-event request (0: the one ending init). */
  next(n: number): Promise<ServerResponse>;
  server: Server;
}

let api: Api | undefined;
afterEach(async () => {
  const server = api?.server;
  api = undefined;
  if (!server) return;
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections(); // the extension's parked next-event request
  await closed;
});

async function extensionsApi(registerStatus = 200): Promise<Api> {
  const log: string[] = [];
  const parked: ServerResponse[] = [];
  const waiters = new Map<number, (res: ServerResponse) => void>();
  let registered: (value: { name: string | undefined; body: string }) => void = () => {};
  const registration = new Promise<{ name: string | undefined; body: string }>((r) => {
    registered = r;
  });
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      if (req.url === '/2020-01-01/extension/register' && req.method === 'POST') {
        registered({ name: req.headers['lambda-extension-name'] as string | undefined, body });
        res.writeHead(registerStatus, { 'Lambda-Extension-Identifier': 'ext-1' }).end('{}');
      } else if (req.url === '/2020-01-01/extension/event/next') {
        expect(req.headers['lambda-extension-identifier']).toBe('ext-1');
        parked.push(res);
        waiters.get(parked.length - 1)?.(res);
      } else {
        res.writeHead(404).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    runtimeApi: `127.0.0.1:${port}`,
    log,
    registration,
    server,
    next: (n) => (parked[n] ? Promise.resolve(parked[n]) : new Promise((resolve) => waiters.set(n, resolve))),
  };
}

function invoke(res: ServerResponse): void {
  res.writeHead(200).end(JSON.stringify({ eventType: 'INVOKE', requestId: 'r' }));
}

describe('SettleExtension', () => {
  it('registers for INVOKE and holds each freeze until the run has ended and the pool has settled', async () => {
    api = await extensionsApi();
    const log = api.log;
    let settleCalled: () => void = () => {};
    let release: () => void = () => {};
    const settle = () => {
      log.push('settle called');
      settleCalled();
      return new Promise<void>((resolve) => {
        release = () => {
          log.push('settled');
          resolve();
        };
      });
    };
    const waitSettleCalled = () => new Promise<void>((resolve) => (settleCalled = resolve));

    let called = waitSettleCalled();
    // Each request for the next event is logged when it is made, not when it arrives.
    const loggingFetch: typeof fetch = (url, init) => {
      if (String(url).endsWith('/event/next')) log.push('next');
      return fetch(url, init);
    };
    const extension = await SettleExtension.register({
      runtimeApi: api.runtimeApi,
      settle,
      fetch: loggingFetch,
    });
    expect(extension).toBeDefined();
    expect(await api.registration).toEqual({
      name: 'custody-python-prestart',
      body: JSON.stringify({ events: ['INVOKE'] }),
    });
    // Init: the first process loads before init ends.
    await called;
    release();
    const first = await api.next(0);
    expect(log).toEqual(['settle called', 'settled', 'next']);

    // An invocation: nothing is settled before its run ends, and no next event before it settles.
    called = waitSettleCalled();
    invoke(first);
    extension?.runEnded();
    await called;
    release();
    await api.next(1);
    expect(log).toEqual(['settle called', 'settled', 'next', 'settle called', 'settled', 'next']);
  });

  it('waits for the run of the invocation even when its INVOKE event comes after the run ended', async () => {
    api = await extensionsApi();
    let settles = 0;
    const extension = await SettleExtension.register({
      runtimeApi: api.runtimeApi,
      settle: async () => {
        settles += 1;
      },
    });
    const first = await api.next(0);
    extension?.runEnded(); // the handler finished before the extension heard of the invocation
    invoke(first);
    await api.next(1);
    expect(settles).toBe(2);
  });

  it('ends init after maxInitWaitMs when the first process never loads (Lambda limits init to 10 s)', async () => {
    api = await extensionsApi();
    await SettleExtension.register({
      runtimeApi: api.runtimeApi,
      settle: () => new Promise<void>(() => {}),
      maxInitWaitMs: 20,
      maxWaitMs: 600_000,
    });
    await api.next(0);
  });

  it("asks for the next event before the invocation's deadline when the pool never settles", async () => {
    api = await extensionsApi();
    const extension = await SettleExtension.register({
      runtimeApi: api.runtimeApi,
      settle: () => new Promise<void>(() => {}),
      maxInitWaitMs: 20,
      maxWaitMs: 600_000,
    });
    (await api.next(0))
      .writeHead(200)
      .end(JSON.stringify({ eventType: 'INVOKE', requestId: 'r', deadlineMs: Date.now() + 600 }));
    extension?.runEnded();
    await api.next(1);
  });

  it('asks for the next event after maxWaitMs when the pool never settles', async () => {
    api = await extensionsApi();
    let settleCalls = 0;
    const extension = await SettleExtension.register({
      runtimeApi: api.runtimeApi,
      settle: () => {
        settleCalls += 1;
        return new Promise<void>(() => {});
      },
      maxInitWaitMs: 20,
      maxWaitMs: 20,
    });
    invoke(await api.next(0));
    extension?.runEnded();
    await api.next(1);
    expect(settleCalls).toBe(2);
  });

  it('stays out of the way when the Extensions API refuses the registration', async () => {
    api = await extensionsApi(403);
    const stops: string[] = [];
    const extension = await SettleExtension.register({
      runtimeApi: api.runtimeApi,
      settle: async () => {},
      onStop: (reason) => stops.push(reason),
    });
    expect(extension).toBeUndefined();
    expect(stops).toEqual(['registration refused (HTTP 403)']);
  });

  it('stays out of the way when there is no Extensions API', async () => {
    const stops: string[] = [];
    const extension = await SettleExtension.register({
      runtimeApi: '127.0.0.1:1',
      settle: async () => {},
      onStop: (reason) => stops.push(reason),
    });
    expect(extension).toBeUndefined();
    expect(stops[0]).toMatch(/^registration failed: /);
  });
});
