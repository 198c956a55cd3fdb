/**
 * The session tools: `start_session`, `run_in_session`, `end_session`.
 *
 * A call in a session is its own tool, not `execute_code` with an optional `sessionId`: in a
 * session the profile is the session's, so one tool would take `profile` XOR `sessionId`, a rule a
 * JSON Schema an agent reads states badly (both optional, prose to say which). Two tools each have
 * one required shape, and each description says what it does: `execute_code` forgets everything,
 * `run_in_session` carries state, and the answer's schema names `sequence` and `state.dropped`.
 * `execute_code` is unchanged.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  sessionEndResponseSchema,
  sessionExecutionRequestSchema,
  sessionStartRequestSchema,
  sessionStartResponseSchema,
} from '../../lambda/core/api-schema.ts';
import type { CustodyClient } from '../index.ts';
import { clipExecution, clippedSessionExecutionSchema } from './clip.ts';
import {
  END_SESSION_DESCRIPTION,
  RUN_IN_SESSION_DESCRIPTION,
  START_SESSION_DESCRIPTION,
} from './tool-descriptions.ts';
import { errorResult, jsonResult, type NextSteps, runFields, runResult } from './tool-result.ts';

/** What an agent does after a session call is refused. */
const NEXT_STEPS: NextSteps = {
  SESSION_ENDED:
    'The session ended (end_session, its TTL, or a revocation): its state is gone. Call start_session for a new one and re-create what you need.',
  SESSION_BUSY:
    "Another call of this session is still running: calls of one session run one at a time. Wait for that call's answer, then call again.",
  404: 'No session of yours has this id: use the sessionId start_session returned.',
};

const sessionIdSchema = z.string().min(1).max(64).describe('The sessionId start_session returned');

export function registerSessionTools(server: McpServer, source: () => CustodyClient): void {
  server.registerTool(
    'start_session',
    {
      title: 'Start a custody session (state kept across calls)',
      description: START_SESSION_DESCRIPTION,
      inputSchema: sessionStartRequestSchema.shape,
      outputSchema: sessionStartResponseSchema.shape,
      annotations: {
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args): Promise<CallToolResult> => {
      try {
        const session = await source().startSession({
          profile: args.profile,
          ...(args.ttlSeconds !== undefined ? { ttlSeconds: args.ttlSeconds } : {}),
          ...(args.purpose !== undefined ? { purpose: args.purpose } : {}),
        });
        return jsonResult({ ...session });
      } catch (error) {
        return errorResult(error);
      }
    },
  );

  server.registerTool(
    'run_in_session',
    {
      title: 'Run code in a custody session',
      description: RUN_IN_SESSION_DESCRIPTION,
      inputSchema: { sessionId: sessionIdSchema, ...sessionExecutionRequestSchema.shape },
      outputSchema: clippedSessionExecutionSchema.shape,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    async (args): Promise<CallToolResult> => {
      try {
        const response = await source().runInSession(args.sessionId, runFields(args));
        // As execute_code: the images the call wrote, as images.
        return runResult(clipExecution(response), response);
      } catch (error) {
        return errorResult(error, NEXT_STEPS);
      }
    },
  );

  server.registerTool(
    'end_session',
    {
      title: 'End a custody session (its state and secrets are destroyed)',
      description: END_SESSION_DESCRIPTION,
      inputSchema: { sessionId: sessionIdSchema },
      outputSchema: sessionEndResponseSchema.shape,
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    async (args): Promise<CallToolResult> => {
      try {
        return jsonResult(await source().endSession(args.sessionId));
      } catch (error) {
        return errorResult(error, NEXT_STEPS);
      }
    },
  );
}
