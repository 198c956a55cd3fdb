/**
 * `custody mcp` as a user's MCP client starts it: the configuration `custody mcp --print-config`
 * printed, started by the MCP SDK's own client (StdioClientTransport: the config's command, args
 * and env, nothing else of ours) from another directory, against the real local server.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { baseEnv, CUSTODY_BIN, ROOT, runProcess, startTestServer, type TestServer } from './support.ts';

let t: TestServer;
/** Where the user's MCP client runs: not the project, so nothing relies on the working directory. */
let elsewhere: string;
const clients: Client[] = [];

interface PrintedConfig {
  mcpServers: { custody: { command: string; args: string[]; env: Record<string, string> } };
}

/** `custody mcp --print-config`, run from another directory in the given environment. */
async function printConfig(env: NodeJS.ProcessEnv, cwd: string): Promise<PrintedConfig> {
  const out = await runProcess(process.execPath, [CUSTODY_BIN, 'mcp', '--print-config'], { env, cwd });
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as PrintedConfig;
}

/** An MCP client started from `config` exactly as Claude Desktop or Cursor would. */
async function startClient(config: PrintedConfig, cwd: string): Promise<Client> {
  const { command, args, env } = config.mcpServers.custody;
  const transport = new StdioClientTransport({ command, args, env, cwd, stderr: 'pipe' });
  const client = new Client({ name: 'custody-e2e', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

async function connect(profile: string): Promise<Client> {
  return startClient(await printConfig(t.cliEnv(profile), elsewhere), elsewhere);
}

/** A port nothing listens on: one the system just gave out and took back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

function text(result: Awaited<ReturnType<Client['callTool']>>): string {
  const content = result.content as { type: string; text?: string }[];
  return content.map((c) => c.text ?? '').join('\n');
}

/** The answer's text block, which is the structured result serialized. */
function json(result: Awaited<ReturnType<Client['callTool']>>): Record<string, unknown> {
  const parsed = JSON.parse(text(result)) as Record<string, unknown>;
  expect(parsed).toEqual(result.structuredContent);
  return parsed;
}

beforeAll(async () => {
  t = await startTestServer();
  elsewhere = mkdtempSync(join(tmpdir(), 'mcp-client-cwd-'));
});
afterAll(async () => {
  for (const c of clients) await c.close();
  await t?.stop();
  if (elsewhere) rmSync(elsewhere, { recursive: true, force: true });
});

describe('custody mcp --print-config', () => {
  it('names this node and this package by absolute path, never npx or the registry', async () => {
    const { command, args, env } = (await printConfig(t.cliEnv('agent'), elsewhere)).mcpServers.custody;
    expect(command).toBe(process.execPath);
    expect(args).toEqual([CUSTODY_BIN, 'mcp']);
    expect(existsSync(args[0] as string)).toBe(true);
    expect(env).toEqual({ CUSTODY_HOME: t.home, AWS_PROFILE: 'agent' });
  });

  it('resolves a relative CUSTODY_HOME and credentials file, and uses the agent profile by default', async () => {
    const { env } = (
      await printConfig(
        { ...baseEnv(), CUSTODY_HOME: 'data', AWS_SHARED_CREDENTIALS_FILE: 'data/credentials' },
        elsewhere,
      )
    ).mcpServers.custody;
    expect(env).toEqual({
      CUSTODY_HOME: join(elsewhere, 'data'),
      AWS_PROFILE: 'agent',
      AWS_SHARED_CREDENTIALS_FILE: join(elsewhere, 'data/credentials'),
    });
    expect(
      Object.values(env)
        .filter((v) => v.includes('/'))
        .every((v) => isAbsolute(v)),
    ).toBe(true);
  });

  it('passes a deployed endpoint, and no local home, when CUSTODY_ENDPOINT is set', async () => {
    const { env } = (
      await printConfig(
        {
          ...baseEnv(),
          CUSTODY_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
          AWS_PROFILE: 'me',
        },
        elsewhere,
      )
    ).mcpServers.custody;
    expect(env).toEqual({
      CUSTODY_ENDPOINT: 'https://abc.execute-api.eu-west-1.amazonaws.com/prod',
      AWS_PROFILE: 'me',
    });
  });
});

describe('custody mcp', () => {
  it('offers execute_code and list_profiles, and the session tools', async () => {
    const client = await connect('agent');
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual([
      'end_session',
      'execute_code',
      'list_profiles',
      'run_in_session',
      'start_session',
    ]);
    const execute = tools.find((tool) => tool.name === 'execute_code');
    expect(execute?.inputSchema.required).toEqual(expect.arrayContaining(['profile', 'language', 'code']));
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(client.getServerVersion()).toEqual({ name: 'custody', version: pkg.version });
  });

  it('tells the agent where files are and what each language has', async () => {
    const client = await connect('agent');
    const { tools } = await client.listTools();
    const description = tools.find((tool) => tool.name === 'execute_code')?.description ?? '';
    expect(description).toContain('/input/NAME');
    expect(description).toContain('working directory is /output');
    expect(description).toContain('files.read(');
    expect(description).toMatch(/Standard library only.*no network/);
    expect(description).toMatch(/list_profiles gives each profile's `packages.python`.*no micropip/);
    expect(description).toMatch(/QuickJS.*not Node/);
    expect(description).toContain('list_profiles');
    // The caller's profiles and what each may import, as the example policy declares them (#17).
    expect(description).toContain(
      '- sandbox (python, javascript, typescript): Python packages: standard library only; JavaScript packages: papaparse',
    );
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
    expect(execute?.outputSchema?.properties).toHaveProperty('clipped');
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
    expect(json(result).stdout).toBe('inherited? no\n');
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
    const answer = json(result);
    expect(answer).toMatchObject({ status: 'succeeded', stdout: '45\n', truncated: false });
    expect(answer.clipped).toBeUndefined();
    const structured = result.structuredContent as { executionId: string; role: { sessionName: string } };
    const records = await t.server.auditStore.get(structured.executionId);
    expect(records[0]).toMatchObject({ request: { purpose: 'mcp e2e' }, caller: { principalId: 'agent' } });
    expect(structured.role.sessionName).toContain('agent');
  });

  it('runs Python as the description says: inputs under /input, outputs written to the working directory', async () => {
    const client = await connect('agent');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: {
        profile: 'sandbox',
        language: 'python',
        code: [
          'import csv',
          'rows = list(csv.reader(open("/input/data.csv")))',
          'open("total.txt", "w").write(str(sum(int(r[1]) for r in rows)))',
          'print(len(rows), "rows")',
        ].join('\n'),
        files: { 'data.csv': 'a,1\nb,2\nc,39\n' },
      },
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(json(result)).toMatchObject({
      status: 'succeeded',
      stdout: '3 rows\n',
      files: { 'total.txt': '42' },
    });
  });

  it('runs JavaScript as the description says: the files global reads inputs and writes outputs', async () => {
    const client = await connect('agent');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: {
        profile: 'sandbox',
        language: 'javascript',
        code: [
          'const rows = files.read("data.csv").trim().split("\\n").map((l) => l.split(","));',
          'files.write("total.txt", String(rows.reduce((s, r) => s + Number(r[1]), 0)));',
          'console.log(files.list().join(","));',
          'rows.length',
        ].join('\n'),
        files: { 'data.csv': 'a,1\nb,2\nc,39\n' },
      },
    });
    expect(result.isError, text(result)).toBeFalsy();
    expect(json(result)).toMatchObject({
      status: 'succeeded',
      stdout: 'data.csv\n',
      result: '3',
      files: { 'total.txt': '42' },
    });
  });

  it('passes the datasets a run asks for: the samples dataset is read from the local S3 server', async () => {
    const client = await connect('agent');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: {
        profile: 'sandbox',
        language: 'javascript',
        code: 'files.read("/data/samples/iris.csv").split("\\n")[0]',
        datasets: { samples: ['iris.csv'] },
      },
    });
    expect(result.isError, text(result)).toBeFalsy();
    const header = readFileSync(join(ROOT, 'local/datasets/samples/iris.csv'), 'utf8').split('\n')[0];
    expect(json(result)).toMatchObject({ status: 'succeeded', result: JSON.stringify(header) });
  });

  it('cuts 10 MB of output to a few KiB in the text and the structured content, saying so', async () => {
    const client = await connect('agent');
    const result = await client.callTool({
      name: 'execute_code',
      arguments: { profile: 'sandbox', language: 'python', code: 'print("x" * 10_000_000)' },
    });
    expect(result.isError, text(result).slice(0, 500)).toBeFalsy();
    const answer = json(result) as {
      status: string;
      stdout: string;
      executionId: string;
      clipped: { fields: { field: string; bytes: number; shownBytes: number }[]; note: string };
    };
    expect(answer.status).toBe('output_limit');
    // The sandbox stops at the profile's 1 MiB; the tool shows 8 KiB of it.
    expect(answer.clipped.fields).toEqual([{ field: 'stdout', bytes: 1_048_576, shownBytes: 8192 }]);
    expect(answer.clipped.note).toContain(`custody show ${answer.executionId}`);
    expect(Buffer.byteLength(answer.stdout)).toBeLessThan(8192 + 64);
    expect(Buffer.byteLength(text(result))).toBeLessThan(10_000);
    expect(Buffer.byteLength(JSON.stringify(result.structuredContent))).toBeLessThan(10_000);
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
    const { profiles } = json(result) as {
      profiles: { name: string; languages: string[]; secretVariables: string[] }[];
    };
    expect(profiles).toContainEqual(
      expect.objectContaining({ name: 'sandbox', languages: ['python', 'javascript', 'typescript'] }),
    );
    expect(profiles).toContainEqual(
      expect.objectContaining({ name: 'reports', secretVariables: ['REPORT_API_TOKEN'] }),
    );
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

describe('custody mcp with no server to call', () => {
  it('starts, and answers each call with what to do until the local server is up', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mcp-empty-home-'));
    try {
      const client = await startClient(
        await printConfig({ ...baseEnv(), CUSTODY_HOME: home }, elsewhere),
        elsewhere,
      );
      expect((await client.listTools()).tools).toHaveLength(5);
      const before = await client.callTool({ name: 'list_profiles', arguments: {} });
      expect(before.isError).toBe(true);
      expect(text(before)).toContain(
        `custody is not reachable: no custody server runs in CUSTODY_HOME=${home} (it has no local.json).`,
      );
      expect(text(before)).toContain('start the server with `npm start`');
      // The server comes up (its local.json appears in the home): the same MCP server finds it.
      copyFileSync(join(t.home, 'local.json'), join(home, 'local.json'));
      const after = await client.callTool({ name: 'list_profiles', arguments: {} });
      expect(after.isError, text(after)).toBeFalsy();
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('names the unreachable endpoint and the way out when nothing listens there', async () => {
    const closed = await closedPort();
    const client = await startClient(
      await printConfig(
        {
          ...baseEnv(),
          CUSTODY_ENDPOINT: `http://127.0.0.1:${closed}`,
          AWS_SHARED_CREDENTIALS_FILE: t.server.paths.credentialsFile,
          AWS_PROFILE: 'agent',
        },
        elsewhere,
      ),
      elsewhere,
    );
    const result = await client.callTool({
      name: 'execute_code',
      arguments: { profile: 'sandbox', language: 'python', code: 'print(1)' },
    });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(`cannot reach custody at http://127.0.0.1:${closed}: connection refused`);
    expect(text(result)).toContain('CUSTODY_ENDPOINT');
  });
});
