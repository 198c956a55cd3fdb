/**
 * `custody mcp`: custody as a tool for agent frameworks, over MCP (stdio).
 *
 * `execute_code` runs code under a profile and returns its output, status and the execution id
 * (the key of its audit record); `list_profiles` says which profiles the caller may use;
 * `start_session`, `run_in_session` and `end_session` keep state across calls (session-tools.ts). Every call is a SigV4-signed API request made with the user's own AWS credentials, so the
 * policy, the scoped role and the audit trail apply exactly as they do to any other caller.
 *
 * The server starts whether or not custody is reachable: the client is found again at each call
 * (`ClientSource`), and a call that finds none answers a tool error saying what to do.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { executionRequestSchema, profilesResponseSchema } from '../../lambda/core/api-schema.ts';
import type { CustodyClient, ProfileSummary } from '../index.ts';
import { clipExecution, clippedExecutionSchema } from './clip.ts';
import { registerSessionTools } from './session-tools.ts';
import { EXECUTE_CODE_DESCRIPTION, LIST_PROFILES_DESCRIPTION } from './tool-descriptions.ts';
import { errorResult, jsonResult, runFields, runResult } from './tool-result.ts';

const MCP_SERVER_NAME = 'custody';

/** The client to call with, found at each call; throws CustodyConfigError when there is none. */
export type ClientSource = () => CustodyClient;

const described = new WeakMap<McpServer, Promise<void>>();

/** Settles once `execute_code`'s description names the caller's profiles (or could not). */
export function profilesDescribed(server: McpServer): Promise<void> {
  return described.get(server) ?? Promise.resolve();
}

/** One line per profile: its languages and the packages its code may import. */
function profilesLine(profiles: readonly ProfileSummary[]): string {
  const lines = profiles.map((p) => {
    const python = p.packages.python.length > 0 ? p.packages.python.join(', ') : 'standard library only';
    const javascript = p.packages.javascript.length > 0 ? p.packages.javascript.join(', ') : 'none';
    return `- ${p.name} (${p.languages.join(', ')}): Python packages: ${python}; JavaScript packages: ${javascript}`;
  });
  return lines.length > 0
    ? `Profiles you may use now (when this server started) and what their code may import:\n${lines.join('\n')}`
    : 'You may use no profile now (when this server started): list_profiles says so again at call time.';
}

/** The server and its tools, before a transport is connected (tests connect an in-memory one). */
export function createMcpServer(source: ClientSource, version: string): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version });

  const executeCode = server.registerTool(
    'execute_code',
    {
      title: 'Execute code under an IAM-bound custody profile',
      description: EXECUTE_CODE_DESCRIPTION,
      // The API's own request and answer (lambda/core/api-schema.ts). The input is the request's
      // shape, not the strict object: an argument the API does not know is dropped, not refused.
      inputSchema: executionRequestSchema.shape,
      outputSchema: clippedExecutionSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async (args): Promise<CallToolResult> => {
      try {
        const response = await source().execute({ profile: args.profile, ...runFields(args) });
        // Images the run wrote, as images (the structured answer lists them without their bytes).
        return runResult(clipExecution(response), response);
      } catch (error) {
        return errorResult(error);
      }
    },
  );

  server.registerTool(
    'list_profiles',
    {
      title: 'List the custody profiles you may use',
      description: LIST_PROFILES_DESCRIPTION,
      outputSchema: profilesResponseSchema.shape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (): Promise<CallToolResult> => {
      try {
        return jsonResult({ profiles: await source().listProfiles() });
      } catch (error) {
        return errorResult(error);
      }
    },
  );
  registerSessionTools(server, source);
  // The profiles the caller may use now, and what each may import, in execute_code's description
  // (#17): read once at start; a server that cannot reach custody keeps the general description.
  described.set(
    server,
    (async () => {
      try {
        const profiles = await source().listProfiles();
        executeCode.update({ description: `${EXECUTE_CODE_DESCRIPTION}\n\n${profilesLine(profiles)}` });
      } catch {
        // list_profiles says the same at call time, with the reason if custody is unreachable.
      }
    })(),
  );
  return server;
}

/** Serves the tools on stdin/stdout until the client disconnects. */
export async function serveMcp(source: ClientSource, version: string): Promise<void> {
  const server = createMcpServer(source, version);
  // A client lists the tools right after connecting: give the profiles' description (one request)
  // up to 3 s first; past that the tool's description is updated when the answer comes.
  await Promise.race([
    profilesDescribed(server),
    new Promise<void>((resolve) => setTimeout(resolve, 3_000).unref()),
  ]);
  const transport = new StdioServerTransport();
  await server.connect(transport);
  await new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.close();
}
