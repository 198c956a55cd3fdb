/**
 * The MCP session tools against the REAL local server, through the MCP SDK's client (in memory):
 * what start_session answers is what run_in_session takes, a variable set in one call is there in
 * the next, and after end_session a call is a tool error telling the agent to start a new session.
 * The stdio transport and `--print-config` are covered by mcp.test.ts.
 *
 * Waits for the broker's session routes (the s-broker branch): on a branch without them
 * start_session is a tool error (404).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustodyClient } from '../../client/index.ts';
import { createMcpServer } from '../../client/mcp/server.ts';
import { startTestServer, type TestServer } from './support.ts';

let t: TestServer;
let client: Client;

beforeAll(async () => {
  t = await startTestServer();
  const custody = new CustodyClient({
    endpoint: t.server.url,
    region: t.server.region,
    credentials: t.identity('agent'),
    env: {},
  });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(() => custody, '0.0.0-e2e').connect(serverSide);
  client = new Client({ name: 'custody-e2e', version: '1.0.0' });
  await client.connect(clientSide);
});
afterAll(async () => {
  await client?.close();
  await t?.stop();
});

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  return (result.content as { type: string; text?: string }[]).map((c) => c.text ?? '').join('\n');
}

describe('custody mcp session tools against the local server', () => {
  it('keeps a variable and a file across run_in_session calls, then ends the session', async () => {
    const started = await client.callTool({ name: 'start_session', arguments: { profile: 'sandbox' } });
    expect(started.isError, text(started)).toBeFalsy();
    const { sessionId } = started.structuredContent as { sessionId: string };

    const run = (code: string) =>
      client.callTool({ name: 'run_in_session', arguments: { sessionId, language: 'python', code } });
    const first = await run('total = 40\nopen("log.txt", "w").write("step 1")');
    expect(first.isError, text(first)).toBeFalsy();
    const second = await run('print(total + 2, open("log.txt").read())');
    expect(second.structuredContent).toMatchObject({
      status: 'succeeded',
      stdout: '42 step 1\n',
      sequence: 2,
    });

    const ended = await client.callTool({ name: 'end_session', arguments: { sessionId } });
    expect(ended.structuredContent).toEqual({ sessionId, status: 'ended' });

    const after = await run('print(total)');
    expect(after.isError).toBe(true);
    expect(text(after)).toContain('SESSION_ENDED');
    expect(text(after)).toContain('Call start_session for a new one');
  });

  it('keeps execute_code working without a session', async () => {
    const out = await client.callTool({
      name: 'execute_code',
      arguments: { profile: 'sandbox', language: 'javascript', code: 'console.log(6 * 7)' },
    });
    expect(out.structuredContent).toMatchObject({ status: 'succeeded', stdout: '42\n' });
  });
});
