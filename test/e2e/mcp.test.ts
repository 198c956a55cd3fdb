/**
 * `custody mcp` driven by the MCP SDK's own client over stdio, against the real local server.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTODY_BIN, ROOT, startTestServer, type TestServer } from './support.ts';

let t: TestServer;
const clients: Client[] = [];

async function connect(profile: string): Promise<Client> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(t.cliEnv(profile))) if (v !== undefined) env[k] = v;
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CUSTODY_BIN, 'mcp'],
    env,
    cwd: ROOT,
  });
  const client = new Client({ name: 'custody-e2e', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('\n');
}

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await t?.stop();
});

describe('custody mcp', () => {
  it('offers execute_code and list_profiles', async () => {
    const client = await connect('agent');
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(['execute_code', 'list_profiles']);
    const execute = tools.find((tool) => tool.name === 'execute_code');
    expect(execute?.inputSchema.required).toEqual(expect.arrayContaining(['profile', 'language', 'code']));
  });

  it("describes each tool's answer with the API's own schema", async () => {
    const client = await connect('agent');
    const { tools } = await client.listTools();
    const execute = tools.find((tool) => tool.name === 'execute_code');
    const list = tools.find((tool) => tool.name === 'list_profiles');
    expect(execute?.inputSchema.properties?.files).toMatchObject({ type: 'object', maxProperties: 64 });
    expect(execute?.outputSchema?.required).toEqual(
      expect.arrayContaining(['executionId', 'status', 'stdout', 'stderr', 'role']),
    );
    expect(list?.outputSchema?.required).toEqual(['profiles']);
  });

  it('passes an input file named __proto__ through as an ordinary file', async () => {
    const client = await connect('agent');
    // Built as JSON text: a `__proto__` key in an object literal would set the prototype instead.
    const args = JSON.parse(
      '{"profile":"sandbox","language":"javascript","code":"console.log(files.read(\'__proto__\'))","files":{"__proto__":"inherited? no"}}',
    ) as Record<string, unknown>;
    const result = await client.callTool({ name: 'execute_code', arguments: args });
    expect(result.isError, text(result)).toBeFalsy();
    expect(text(result)).toContain('stdout:\ninherited? no\n');
  });

  it('runs code as the signed-in identity and returns output, status and the execution id', async () => {
    const client = await connect('agent');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: {
        profile: 'sandbox',
        language: 'python',
        code: 'print(sum(range(10)))',
        purpose: 'mcp e2e',
      },
    });
    expect(result.isError).toBeFalsy();
    expect(text(result)).toMatch(/^status: succeeded \(execution (\w+),/);
    expect(text(result)).toContain('stdout:\n45\n');
    const structured = result.structuredContent as { executionId: string; role: { sessionName: string } };
    const records = await t.server.auditStore.get(structured.executionId);
    expect(records[0]).toMatchObject({ request: { purpose: 'mcp e2e' }, caller: { principalId: 'agent' } });
    expect(structured.role.sessionName).toContain('agent');
  });

  it('refuses arguments the API would refuse as a tool error naming the field', async () => {
    const client = await connect('agent');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: { profile: 'sandbox', language: 'python', code: 'print(1)', timeoutMs: 400_000 },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/Input validation error.*\n?.*timeoutMs/);
  });

  it("lists the caller's profiles", async () => {
    const client = await connect('agent');
    const result = await client.callTool({ name: 'list_profiles', arguments: {} });
    expect(text(result)).toMatch(/^sandbox: python, javascript, typescript;/m);
    expect(text(result)).toMatch(/^reports: .*secrets REPORT_API_TOKEN/m);
  });

  it('reports a denial as a tool error with the reason code', async () => {
    const client = await connect('stranger');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: { profile: 'sandbox', language: 'javascript', code: 'console.log(1)' },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/custody refused the call: NO_GRANT/);
  });
});
