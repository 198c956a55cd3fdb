/**
 * `custody mcp`: custody as a tool for agent frameworks, over MCP (stdio).
 *
 * Two tools: `execute_code` runs code under a profile and returns its output, status and the
 * execution id (the key of its audit record); `list_profiles` says which profiles the caller may
 * use. Every call is a SigV4-signed API request made with the user's own AWS credentials, so the
 * policy, the scoped role and the audit trail apply exactly as they do to any other caller.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  executionRequestSchema,
  executionResponseSchema,
  profilesResponseSchema,
} from '../../lambda/core/api-schema.ts';
import { CustodyApiError, type CustodyClient, describeError, type ExecutionResponse } from '../index.ts';

export const MCP_SERVER_NAME = 'custody';

function errorResult(error: unknown): CallToolResult {
  if (error instanceof CustodyApiError) {
    const id = error.executionId ? ` (execution ${error.executionId})` : '';
    return {
      isError: true,
      content: [{ type: 'text', text: `custody refused the call: ${error.code}: ${error.message}${id}` }],
    };
  }
  return {
    isError: true,
    content: [{ type: 'text', text: `custody is unavailable: ${(error as Error).message}` }],
  };
}

/** The execution, as text an LLM reads well: status line, then stdout, stderr, result and error. */
export function describeExecution(response: ExecutionResponse): string {
  const parts = [
    `status: ${response.status} (execution ${response.executionId}, ${Math.round(response.durationMs)} ms, role session ${response.role.sessionName})`,
  ];
  if (response.stdout !== '') parts.push(`stdout:\n${response.stdout}`);
  if (response.stderr !== '') parts.push(`stderr:\n${response.stderr}`);
  if (response.result !== undefined) parts.push(`result: ${response.result}`);
  if (response.error) parts.push(`error:\n${describeError(response.error)}`);
  if (response.files && Object.keys(response.files).length > 0) {
    parts.push(`files written: ${Object.keys(response.files).join(', ')}`);
  }
  if (response.truncated) parts.push('(output truncated)');
  return parts.join('\n');
}

export function createMcpServer(client: CustodyClient, version = '0.1.0'): McpServer {
  const server = new McpServer({ name: MCP_SERVER_NAME, version });

  server.registerTool(
    'execute_code',
    {
      title: 'Execute code under an IAM-bound custody profile',
      description:
        'Runs Python, JavaScript or TypeScript in a fresh sandbox with no network, under the named execution profile, as the calling AWS identity. Returns stdout, stderr, the status (succeeded, failed, timed_out, out_of_memory, output_limit) and the execution id of the audit record. Call list_profiles first to see which profiles and languages you may use.',
      // The API's own request and answer (lambda/core/api-schema.ts). The input is the request's
      // shape, not the strict object: an argument the API does not know is dropped, not refused.
      inputSchema: executionRequestSchema.shape,
      outputSchema: executionResponseSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async (args): Promise<CallToolResult> => {
      try {
        const response = await client.execute({
          profile: args.profile,
          language: args.language,
          code: args.code,
          ...(args.purpose !== undefined ? { purpose: args.purpose } : {}),
          ...(args.files !== undefined ? { files: args.files } : {}),
          ...(args.timeoutMs !== undefined ? { timeoutMs: args.timeoutMs } : {}),
        });
        return {
          content: [{ type: 'text', text: describeExecution(response) }],
          structuredContent: { ...response },
        };
      } catch (error) {
        return errorResult(error);
      }
    },
  );

  server.registerTool(
    'list_profiles',
    {
      title: 'List the custody profiles you may use',
      description:
        'Lists the execution profiles the calling AWS identity may use now: languages, limits and the names of the secret variables each injects.',
      outputSchema: profilesResponseSchema.shape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    async (): Promise<CallToolResult> => {
      try {
        const profiles = await client.listProfiles();
        const text =
          profiles.length === 0
            ? 'No profiles: the policy grants this identity none.'
            : profiles
                .map(
                  (p) =>
                    `${p.name}: ${p.languages.join(', ')}; timeout ${p.limits.timeoutMs} ms; ${p.limits.memoryMiB} MiB${
                      p.secretVariables.length > 0 ? `; secrets ${p.secretVariables.join(', ')}` : ''
                    }${p.description ? ` — ${p.description}` : ''}`,
                )
                .join('\n');
        return { content: [{ type: 'text', text }], structuredContent: { profiles } };
      } catch (error) {
        return errorResult(error);
      }
    },
  );
  return server;
}

/** Serves the tools on stdin/stdout until the client disconnects. */
export async function serveMcp(client: CustodyClient): Promise<void> {
  const server = createMcpServer(client);
  const transport = new StdioServerTransport();
  await server.connect(transport);
  await new Promise<void>((resolve) => {
    server.server.onclose = () => resolve();
    process.stdin.once('end', () => resolve());
  });
  await server.close();
}
