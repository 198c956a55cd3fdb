/**
 * How the MCP tools answer: a structured result with the same JSON as text, or a tool error whose
 * text says what went wrong and what the agent (or its user) can do next.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ExecutionResponse } from '../../lambda/core/api-schema.ts';
import {
  CustodyApiError,
  CustodyConfigError,
  CustodyCredentialsError,
  CustodyNetworkError,
} from '../index.ts';
import { imageContent } from './images.ts';

/** What an agent (or its user) does when custody cannot be reached. */
const WAY_OUT =
  "Local mode: start the server with `npm start` in the custody project, then call the tool again (this MCP server finds it, no restart needed). A deployed stack: set CUSTODY_ENDPOINT (the stack's ApiUrl output) in this MCP server's env and restart it.";

/** What an agent does next after a refusal: by the API's code, or by HTTP status (`404`). */
export type NextSteps = Readonly<Record<string, string>>;

function refusal(error: CustodyApiError, next: NextSteps): string {
  const id = error.executionId ? ` (execution ${error.executionId})` : '';
  const step = next[error.code] ?? next[String(error.status)];
  return `custody refused the call: ${error.code}: ${error.message}${id}${step ? `. ${step}` : ''}`;
}

export function errorResult(error: unknown, next: NextSteps = {}): CallToolResult {
  const text =
    error instanceof CustodyApiError
      ? refusal(error, next)
      : error instanceof CustodyConfigError || error instanceof CustodyNetworkError
        ? `custody is not reachable: ${error.message}. ${WAY_OUT}`
        : error instanceof CustodyCredentialsError
          ? `custody has no credentials to sign with: ${error.message}`
          : `custody is unavailable: ${(error as Error).message}`;
  return { isError: true, content: [{ type: 'text', text }] };
}

/** A tool answer: the structured result, and the same serialized as JSON text (MCP spec 2025-06-18). */
export function jsonResult(structured: object): CallToolResult {
  return {
    content: [{ type: 'text', text: JSON.stringify(structured) }],
    structuredContent: structured as Record<string, unknown>,
  };
}

/** The run fields of a tool call, as the SDK sends them: those the agent left out stay out. */
export function runFields<
  A extends {
    language: L;
    code: string;
    purpose?: string | undefined;
    files?: F | undefined;
    datasets?: D | undefined;
    timeoutMs?: number | undefined;
  },
  L,
  F,
  D,
>(args: A) {
  return {
    language: args.language,
    code: args.code,
    ...(args.purpose !== undefined ? { purpose: args.purpose } : {}),
    ...(args.files !== undefined ? { files: args.files } : {}),
    ...(args.datasets !== undefined ? { datasets: args.datasets } : {}),
    ...(args.timeoutMs !== undefined ? { timeoutMs: args.timeoutMs } : {}),
  };
}

/** A run's answer: the clipped JSON, then the images it wrote as image content. */
export function runResult(clipped: object, response: ExecutionResponse): CallToolResult {
  const result = jsonResult(clipped);
  return { ...result, content: [...result.content, ...imageContent(response)] };
}
