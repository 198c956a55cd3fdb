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
import type { CustodyClient } from '../index.ts';
import { clipExecution, clippedExecutionSchema } from './clip.ts';
import { registerSessionTools } from './session-tools.ts';
import { EXECUTE_CODE_DESCRIPTION, LIST_PROFILES_DESCRIPTION } from './tool-descriptions.ts';
import { errorResult, jsonResult, runFields, runResult } from './tool-result.ts';

const MCP_SERVER_NAME = 'custody';

/** The client to call with, found at each call; throws CustodyConfigError when there is none. */
export type ClientSource = () => CustodyClient;

/** The server and its tools, before a transport is connected (tests connect an in-memory one). */
export function createMcpServer(source: ClientSource, version: string): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version });

  server.registerTool(
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
  return server;
}

/** Serves the tools on stdin/stdout until the client disconnects. */
export async function serveMcp(source: ClientSource, version: string): Promise<void> {
  const server = createMcpServer(source, version);
  const transport = new StdioServerTransport();
  await server.connect(transport);
  await new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.close();
}
