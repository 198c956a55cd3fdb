/**
 * The MCP server's tools as an agent sees them, through the MCP SDK's own client over an in-memory
 * transport: the tool list and schemas, and the session tools' calls reaching a loopback server
 * that checks their SigV4 signatures, with the API's refusals turned into tool errors that say
 * what to do. test/e2e/mcp-session.test.ts runs the session tools against the real local server.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CustodyClient } from '../../../client/index.ts';
import { createMcpServer, profilesDescribed } from '../../../client/mcp/server.ts';
import { EXECUTE_CODE_DESCRIPTION } from '../../../client/mcp/tool-descriptions.ts';
import {
  type SignedStub,
  STUB_CREDENTIALS,
  STUB_REGION,
  startSignedStub,
} from '../../support/signed-stub.ts';

const ID = 'ses_01JF3Z8Y5K9M2N4P6Q7R8S9T0V';

let stub: SignedStub;
let client: Client;

beforeAll(async () => {
  stub = await startSignedStub();
  const custody = new CustodyClient({
    endpoint: stub.url,
    region: STUB_REGION,
    credentials: STUB_CREDENTIALS,
    env: {},
  });
  const server = createMcpServer(() => custody, '0.0.0-test');
  await profilesDescribed(server);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  client = new Client({ name: 'custody-test', version: '1.0.0' });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client?.close();
  await stub?.close();
});
beforeEach(() => {
  stub.seen.length = 0;
});

type Tool = Awaited<ReturnType<Client['listTools']>>['tools'][number];

async function tool(name: string): Promise<Tool> {
  const { tools } = await client.listTools();
  const found = tools.find((t) => t.name === name);
  if (!found) throw new Error(`no tool ${name}`);
  return found;
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

function sent() {
  const request = stub.seen.at(-1);
  if (!request) throw new Error('nothing was sent');
  return { ...request, json: request.body === '' ? undefined : (JSON.parse(request.body) as unknown) };
}

describe('custody mcp tools', () => {
  it('lists execute_code and list_profiles, and the three session tools', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'end_session',
      'execute_code',
      'list_profiles',
      'run_in_session',
      'start_session',
    ]);
  });

  it('keeps execute_code as it was: a profile is required and it takes no session', async () => {
    const { inputSchema } = await tool('execute_code');
    expect(inputSchema.required).toEqual(expect.arrayContaining(['profile', 'language', 'code']));
    expect(Object.keys(inputSchema.properties ?? {}).sort()).toEqual([
      'code',
      'datasets',
      'files',
      'language',
      'profile',
      'purpose',
      'timeoutMs',
    ]);
  });

  it("describes start_session's input and answer from the API's schemas", async () => {
    const t = await tool('start_session');
    expect(t.inputSchema.required).toEqual(['profile']);
    expect(t.inputSchema.properties?.ttlSeconds).toMatchObject({
      type: 'integer',
      minimum: 60,
      maximum: 28_800,
    });
    expect(t.outputSchema?.required).toEqual(
      expect.arrayContaining(['sessionId', 'profile', 'expiresAt', 'secretVariables']),
    );
  });

  it('asks run_in_session for a session id instead of a profile, and describes sequence and state in its answer', async () => {
    const t = await tool('run_in_session');
    expect(t.inputSchema.required?.sort()).toEqual(['code', 'language', 'sessionId']);
    expect(t.inputSchema.properties).not.toHaveProperty('profile');
    expect(t.outputSchema?.required).toEqual(
      expect.arrayContaining(['sessionId', 'sequence', 'executionId']),
    );
    const properties = (t.outputSchema?.properties ?? {}) as Record<string, { properties?: object }>;
    const state = properties.state;
    expect(Object.keys(state?.properties ?? {}).sort()).toEqual(['bytes', 'dropped', 'error', 'saved']);
  });

  it('tells an agent what a session keeps and where to look for what it did not', async () => {
    const run = await tool('run_in_session');
    for (const kept of [
      'variables',
      'functions',
      'files',
      'state.dropped',
      'SESSION_BUSY',
      'SESSION_ENDED',
    ]) {
      expect(run.description).toContain(kept);
    }
    expect((await tool('start_session')).description).toContain('read once');
    expect((await tool('end_session')).description).toContain('destroyed');
    expect((await tool('end_session')).annotations?.destructiveHint).toBe(true);
  });
});

describe('custody mcp session tools', () => {
  it('start_session sends a signed POST /v1/sessions and answers the session', async () => {
    const answer = {
      sessionId: ID,
      profile: 'sandbox',
      expiresAt: '2026-12-03T16:00:00.000Z',
      secretVariables: [],
    };
    stub.reply = { status: 201, body: answer };
    const result = await client.callTool({
      name: 'start_session',
      arguments: { profile: 'sandbox', ttlSeconds: 600 },
    });

    expect(result.isError).toBeFalsy();
    expect(sent()).toMatchObject({ method: 'POST', target: '/v1/sessions', verified: true });
    expect(sent().json).toEqual({ profile: 'sandbox', ttlSeconds: 600 });
    expect(result.structuredContent).toEqual(answer);
    expect(JSON.parse(text(result))).toEqual(answer);
  });

  it('run_in_session sends the code to the session, without the session id in the body, and answers sequence and state', async () => {
    const answer = {
      executionId: 'e2',
      status: 'succeeded',
      stdout: '42\n',
      stderr: '',
      durationMs: 5,
      truncated: false,
      codeSha256: 'c0de',
      outputSha256: '0u7',
      role: { arn: 'arn:aws:sts::000000000000:assumed-role/r/s', sessionName: 's' },
      sessionId: ID,
      sequence: 2,
      state: { bytes: 64, dropped: ['handle'], saved: true },
    };
    stub.reply = { status: 200, body: answer };
    const result = await client.callTool({
      name: 'run_in_session',
      arguments: { sessionId: ID, language: 'python', code: 'print(x + 1)', purpose: 'step 2' },
    });

    expect(result.isError, text(result)).toBeFalsy();
    expect(sent()).toMatchObject({ method: 'POST', target: `/v1/sessions/${ID}/executions`, verified: true });
    expect(sent().json).toEqual({ language: 'python', code: 'print(x + 1)', purpose: 'step 2' });
    expect(result.structuredContent).toEqual(answer);
  });

  it('run_in_session returns the images a call wrote as image content, as execute_code does', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]).toString('base64');
    stub.reply = {
      status: 200,
      body: {
        executionId: 'e4',
        status: 'succeeded',
        stdout: '',
        stderr: '',
        durationMs: 5,
        truncated: false,
        codeSha256: 'c0de',
        outputSha256: '0u7',
        role: { arn: 'arn', sessionName: 's' },
        files: { 'chart.png': { base64: png, mediaType: 'image/png', bytes: 11 } },
        sessionId: ID,
        sequence: 3,
        state: { bytes: 0, dropped: [], saved: true },
      },
    };
    const result = await client.callTool({
      name: 'run_in_session',
      arguments: { sessionId: ID, language: 'python', code: 'plot()', datasets: { samples: ['iris.csv'] } },
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(sent().json).toEqual({ language: 'python', code: 'plot()', datasets: { samples: ['iris.csv'] } });
    expect(result.content).toContainEqual({ type: 'image', data: png, mimeType: 'image/png' });
  });

  it('run_in_session cuts a long stdout like execute_code and says so', async () => {
    stub.reply = {
      status: 200,
      body: {
        executionId: 'e3',
        status: 'succeeded',
        stdout: 'x'.repeat(20_000),
        stderr: '',
        durationMs: 5,
        truncated: false,
        codeSha256: 'c0de',
        outputSha256: '0u7',
        role: { arn: 'arn', sessionName: 's' },
        sessionId: ID,
        sequence: 3,
      },
    };
    const result = await client.callTool({
      name: 'run_in_session',
      arguments: { sessionId: ID, language: 'javascript', code: 'print' },
    });
    const out = result.structuredContent as {
      stdout: string;
      sequence: number;
      clipped?: { fields: unknown[] };
    };
    expect(out.stdout.length).toBeLessThan(9_000);
    expect(out.sequence).toBe(3);
    expect(out.clipped?.fields).toEqual([{ field: 'stdout', bytes: 20_000, shownBytes: 8_192 }]);
  });

  it('end_session sends a signed DELETE', async () => {
    stub.reply = { status: 200, body: { sessionId: ID, status: 'ended' } };
    const result = await client.callTool({ name: 'end_session', arguments: { sessionId: ID } });
    expect(sent()).toMatchObject({ method: 'DELETE', target: `/v1/sessions/${ID}`, verified: true });
    expect(result.structuredContent).toEqual({ sessionId: ID, status: 'ended' });
  });

  it.each([
    [410, 'SESSION_ENDED', 'session ended (deleted)', 'Call start_session for a new one'],
    [409, 'SESSION_BUSY', 'another call is running', "Wait for that call's answer"],
    [404, 'NOT_FOUND', 'no such session', 'use the sessionId start_session returned'],
  ])('a %i %s is a tool error that says what to do next', async (status, code, message, next) => {
    stub.reply = { status, body: { error: { code, message } } };
    const result = await client.callTool({
      name: 'run_in_session',
      arguments: { sessionId: ID, language: 'python', code: 'x' },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(`custody refused the call: ${code}: ${message}. `);
    expect(text(result)).toContain(next);
  });

  it('refuses a call without a session id before sending anything', async () => {
    const result = await client.callTool({
      name: 'run_in_session',
      arguments: { language: 'python', code: 'x' },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain('sessionId');
    expect(stub.seen).toEqual([]);
  });
});

describe("execute_code's description names the caller's profiles and their packages (#17)", () => {
  const describedBy = async (reply: SignedStub['reply']) => {
    stub.reply = reply;
    const custody = new CustodyClient({
      endpoint: stub.url,
      region: STUB_REGION,
      credentials: STUB_CREDENTIALS,
      env: {},
    });
    const server = createMcpServer(() => custody, '0.0.0-test');
    await profilesDescribed(server);
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const other = new Client({ name: 'custody-test', version: '1.0.0' });
    await other.connect(clientSide);
    try {
      const { tools } = await other.listTools();
      return tools.find((t) => t.name === 'execute_code')?.description;
    } finally {
      await other.close();
    }
  };
  const profile = (name: string, python: string[], javascript: string[]) => ({
    name,
    description: '',
    languages: ['javascript', 'python'],
    limits: { timeoutMs: 1000, memoryMiB: 256, maxCodeBytes: 100, maxOutputBytes: 100 },
    secretVariables: [],
    packages: { python, javascript },
  });

  it('lists each profile with the Python and JavaScript packages it bundles', async () => {
    const description = await describedBy({
      status: 200,
      body: { profiles: [profile('sandbox', [], ['papaparse']), profile('analysis', ['pandas'], [])] },
    });
    expect(description).toContain(EXECUTE_CODE_DESCRIPTION);
    expect(description).toContain(
      '- sandbox (javascript, python): Python packages: standard library only; JavaScript packages: papaparse',
    );
    expect(description).toContain(
      '- analysis (javascript, python): Python packages: pandas; JavaScript packages: none',
    );
  });

  it('keeps the general description when custody cannot be asked', async () => {
    const description = await describedBy({
      status: 503,
      body: { error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'down' } },
    });
    expect(description).toBe(EXECUTE_CODE_DESCRIPTION);
  });
});
