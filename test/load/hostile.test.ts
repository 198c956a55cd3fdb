/**
 * 10,000 malformed or hostile requests at concurrency 32 (random bodies, wrong types, huge fields,
 * bad encodings, bad and missing signatures, wrong methods and paths): every one is refused with a
 * 4xx (no 5xx at all, no 2xx), nothing reaches the sandbox, the server's memory stays bounded, and
 * it serves a normal request afterwards.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SignedClient, SignedResponse } from '../../bench/lib/signed-client.ts';
import { type LoadServer, pool, startLoadServer } from './support.ts';

const TOTAL = 10_000;
const CONCURRENCY = 32;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A fixed pseudo-random sequence, so a failure names a request that can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomBytes(random: () => number, size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function randomText(random: () => number, size: number): string {
  let out = '';
  for (let i = 0; i < size; i++) out += String.fromCharCode(32 + Math.floor(random() * 95));
  return out;
}

interface Clients {
  readonly agent: SignedClient;
  readonly stranger: SignedClient;
  readonly wrongSecret: SignedClient;
  readonly noToken: SignedClient;
}

interface Hostile {
  readonly kind: string;
  send(clients: Clients): Promise<SignedResponse>;
}

const EXECUTIONS = '/v1/executions';

/** The i-th hostile request. None of them is a valid execution. */
function hostile(i: number): Hostile {
  const random = prng(i + 1);
  const slot = i % 20;
  const signed = (
    kind: string,
    body: string | Buffer,
    extra: { method?: 'GET' | 'POST'; path?: string; date?: Date } = {},
  ): Hostile => ({
    kind,
    send: (c) =>
      c.agent.send({
        method: extra.method ?? 'POST',
        path: extra.path ?? EXECUTIONS,
        body,
        ...(extra.date ? { signingDate: extra.date } : {}),
      }),
  });
  const valid = { profile: 'sandbox', language: 'javascript', code: 'console.log(1)' };
  if (i % 1000 === 999) {
    // A body past the 6 MB bound, declared up front.
    return {
      kind: 'huge body',
      send: (c) =>
        c.agent.sendRaw({
          method: 'POST',
          path: EXECUTIONS,
          headers: { 'content-type': 'application/json' },
          body: Buffer.alloc(7 * 1024 * 1024, 0x61),
        }),
    };
  }
  switch (slot) {
    case 0:
      return {
        kind: 'unsigned random bytes',
        send: (c) =>
          c.agent.sendRaw({
            method: 'POST',
            path: EXECUTIONS,
            headers: {},
            body: randomBytes(random, Math.floor(random() * 2000)),
          }),
      };
    case 1:
      return {
        kind: 'garbage authorization',
        send: (c) =>
          c.agent.sendRaw({
            method: 'POST',
            path: EXECUTIONS,
            headers: {
              authorization:
                random() < 0.5
                  ? randomText(random, 200)
                  : `AWS4-HMAC-SHA256 Credential=${randomText(random, 40)}, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
              'x-amz-date': randomText(random, 16),
            },
            body: JSON.stringify(valid),
          }),
      };
    case 2:
      return signed('random bytes (bad UTF-8)', randomBytes(random, 1 + Math.floor(random() * 4000)));
    case 3:
      return signed('not JSON', `{"profile": "sandbox", ${randomText(random, 100)}`);
    case 4:
      return signed(
        'wrong types',
        JSON.stringify({ profile: random() * 1e6, language: random() < 0.5, code: [randomText(random, 10)] }),
      );
    case 5:
      return signed('not an object', JSON.stringify([null, 42, 'code', [valid]][Math.floor(random() * 4)]));
    case 6:
      return signed(
        'unknown field',
        JSON.stringify({ ...valid, [`x${Math.floor(random() * 1e6)}`]: 'extra', __proto__: { admin: true } }),
      );
    case 7:
      return signed(
        'code over the profile limit',
        JSON.stringify({ ...valid, code: `// ${'x'.repeat(70_000)}` }),
      );
    case 8:
      return signed('purpose too long', JSON.stringify({ ...valid, purpose: randomText(random, 5_000) }));
    case 9:
      return signed(
        'bad files',
        JSON.stringify({
          ...valid,
          files:
            random() < 0.5
              ? { '../../etc/passwd': 'x', '/abs': 'y' }
              : Object.fromEntries(Array.from({ length: 65 }, (_, n) => [`f${n}.txt`, 'z'])),
        }),
      );
    case 10:
      return {
        kind: 'wrong secret',
        send: (c) => c.wrongSecret.send({ path: EXECUTIONS, body: JSON.stringify(valid) }),
      };
    case 11:
      return signed('expired signature', JSON.stringify(valid), { date: new Date(Date.now() - 10 * 60_000) });
    case 12:
      return signed(
        'unknown language',
        JSON.stringify({ ...valid, language: ['ruby', 'bash', '', 'PYTHON'][Math.floor(random() * 4)] }),
      );
    case 13:
      return {
        kind: 'no grant',
        send: (c) => c.stranger.send({ path: EXECUTIONS, body: JSON.stringify(valid) }),
      };
    case 14: {
      const paths = [
        '/v1/executions/../../etc',
        '/%ZZ',
        `/${'a'.repeat(4000)}`,
        '/v1/executions/%00',
        '/v2',
        `/v1/executions/${randomText(random, 20).replace(/[^A-Za-z0-9]/g, '')}x`,
      ];
      const path = paths[Math.floor(random() * paths.length)] as string;
      return random() < 0.5
        ? signed('odd path', JSON.stringify(valid), { path })
        : signed('wrong method', JSON.stringify(valid), { method: 'GET' });
    }
    case 15:
      return signed(
        'bad timeout',
        JSON.stringify({ ...valid, timeoutMs: [-1, 1e12, '10', 0.5, null][Math.floor(random() * 5)] }),
      );
    case 16:
      return signed(
        'unknown profile',
        JSON.stringify({
          ...valid,
          profile: ['nope', 'SANDBOX', 'sandbox ', 'x'.repeat(65)][Math.floor(random() * 4)],
        }),
      );
    case 17:
      return {
        kind: 'missing session token',
        send: (c) => c.noToken.send({ path: EXECUTIONS, body: JSON.stringify(valid) }),
      };
    case 18:
      return signed('deep nesting', `${'['.repeat(5_000)}${']'.repeat(5_000)}`);
    default:
      return signed(
        'lone surrogates and NULs',
        `{"profile":"\\ud800","language":"javascript\\u0000","code":"\\udfff"}`,
      );
  }
}

let load: LoadServer;
let clients: Clients;
const results: { index: number; kind: string; status: number; body: string }[] = [];
let before: NodeJS.MemoryUsage;
let after: NodeJS.MemoryUsage;

beforeAll(async () => {
  load = await startLoadServer({}, { warmUpPython: false });
  const agentIdentity = load.server.identities.find((i) => i.profileName === 'agent');
  if (!agentIdentity) throw new Error('no agent identity');
  clients = {
    agent: load.client('agent'),
    stranger: load.client('stranger'),
    wrongSecret: load.clientWithKey({
      ...agentIdentity,
      secretAccessKey: `${agentIdentity.secretAccessKey.slice(0, -2)}xx`,
    }),
    noToken: load.clientWithKey({
      accessKeyId: agentIdentity.accessKeyId,
      secretAccessKey: agentIdentity.secretAccessKey,
    }),
  };
  // Warm up every path once, then take the baseline.
  await pool(200, CONCURRENCY, (i) => hostile(i).send(clients));
  gc();
  before = process.memoryUsage();
  await pool(TOTAL, CONCURRENCY, async (index) => {
    const request = hostile(index);
    try {
      const response = await request.send(clients);
      results.push({ index, kind: request.kind, status: response.status, body: response.body.slice(0, 300) });
    } catch (error) {
      results.push({ index, kind: request.kind, status: 0, body: (error as Error).message });
    }
  });
  gc();
  after = process.memoryUsage();
}, 600_000);

afterAll(async () => {
  await load?.stop();
});

describe(`${TOTAL} malformed or hostile requests at concurrency ${CONCURRENCY}`, () => {
  it('answers every one', () => {
    expect(results).toHaveLength(TOTAL);
    expect(results.filter((r) => r.status === 0)).toEqual([]);
  });

  it('answers none with a 5xx, and none with a 2xx', () => {
    expect(results.filter((r) => r.status >= 500)).toEqual([]);
    expect(results.filter((r) => r.status < 400)).toEqual([]);
  });

  it('gives each kind of request the refusal it calls for', () => {
    const expected: Record<string, number[]> = {
      'unsigned random bytes': [403],
      'garbage authorization': [403],
      'random bytes (bad UTF-8)': [400],
      'not JSON': [400],
      'wrong types': [400],
      'not an object': [400],
      'unknown field': [400],
      'code over the profile limit': [413, 400],
      'purpose too long': [400],
      'bad files': [400],
      'wrong secret': [403],
      'expired signature': [403],
      'unknown language': [400],
      'no grant': [403],
      'odd path': [400, 403, 404, 405],
      'wrong method': [405],
      'bad timeout': [400],
      'unknown profile': [400, 403],
      'missing session token': [403],
      'deep nesting': [400],
      'lone surrogates and NULs': [400, 403],
      'huge body': [413],
    };
    const wrong = results.filter((r) => !(expected[r.kind] ?? []).includes(r.status));
    expect(wrong.slice(0, 10)).toEqual([]);
  });

  it('runs none of them', async () => {
    expect(load.sandboxRuns.size).toBe(0);
    const records = await load.allRecords();
    expect(records.filter((r) => r.event !== 'denied')).toEqual([]);
  });

  it('keeps its memory bounded', () => {
    const heapGrowthMiB = (after.heapUsed - before.heapUsed) / 1024 / 1024;
    const rssGrowthMiB = (after.rss - before.rss) / 1024 / 1024;
    expect(heapGrowthMiB).toBeLessThan(64);
    expect(rssGrowthMiB).toBeLessThan(256);
  });

  it('serves a normal request afterwards', async () => {
    const response = await clients.agent.send({
      path: EXECUTIONS,
      body: JSON.stringify({ profile: 'sandbox', language: 'javascript', code: 'console.log("still here")' }),
    });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ status: 'succeeded', stdout: 'still here\n' });
  });
});
