/**
 * The broker's HTTP mapping, free of Lambda and of AWS: the API Gateway handler
 * (`lambda/handlers/broker.ts`) and the local server's edge both call `handle` with a request whose
 * caller the edge has authenticated, and write the `ApiResponse` it returns.
 *
 *   POST /v1/executions        run code under a profile (`pipeline.ts`: steps 1-10 of DESIGN.md)
 *   GET  /v1/executions/{id}   the audit records of one execution (own caller, or an auditor)
 *   GET  /v1/profiles          the profiles this caller may use now
 *   POST /v1/sessions          start a session (201); GET: the caller's sessions (`sessions/`)
 *   GET|DELETE /v1/sessions/{id}        show (starter or auditor) or end (starter) a session
 *   POST /v1/sessions/{id}/executions   run code in a session (the ten steps, with its state)
 *
 * `handle` never throws: every failure becomes `{ error: { code, message } }` with the status of
 * its CustodyError (400, 403, 404, 405, 409, 410, 413, 429, 503), and anything unforeseen a bare 500.
 */
import { CustodyError, NotFoundError } from '../core/errors.ts';
import type { CallerIdentity } from './caller.ts';
import { type BrokerDeps, brokerContext } from './context.ts';
import { type EdgeDenial, recordEdgeDenial } from './edge-denial.ts';
import { runExecution } from './pipeline.ts';
import { executionRecords, profilesFor } from './queries.ts';
import type { ExecutionOutcome } from './refusal.ts';
import { sweepSessions } from './sessions/session-end.ts';
import { deleteSession, listSessions, showSession } from './sessions/session-queries.ts';
import { runInSession } from './sessions/session-run.ts';
import { type SessionStartOutcome, startSession } from './sessions/session-start.ts';

export type { ExecutionResponse } from '../core/api-schema.ts';
export type { Deployment } from '../core/deployment.ts';
export type { CallerIdentity } from './caller.ts';
export type { BrokerDeps } from './context.ts';

export interface ApiRequest {
  method: string;
  path: string;
  body: string | null;
  caller: CallerIdentity;
  requestId?: string;
}

export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export interface BrokerApi {
  handle(req: ApiRequest): Promise<ApiResponse>;
  /** Audits a request the edge refused (signature, body size) as one `denied` record. */
  recordEdgeDenial(denial: EdgeDenial): Promise<void>;
  /**
   * Ends the sessions that are over (expired, or revoked by the kill switch): run on a timer (the
   * local digest tick, the AWS digester). Nothing to do without sessions.
   */
  sweepSessions(): Promise<{ ended: number }>;
}

const JSON_HEADERS = {
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
};

/** A JSON response with the API's headers (no caching, no sniffing) and any extra ones. */
export function json(statusCode: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/** `{ error: { code, message } }` with the error's status; a refused execution also names its id. */
function errorResponse(
  error: CustodyError,
  extra: { executionId?: string; auditPending?: boolean } = {},
  headers: Record<string, string> = {},
): ApiResponse {
  return json(
    error.httpStatus,
    {
      error: {
        code: error.code,
        message: error.message,
        ...(extra.executionId ? { executionId: extra.executionId } : {}),
        ...(extra.auditPending ? { auditPending: true } : {}),
      },
    },
    headers,
  );
}

function executionResponse(outcome: ExecutionOutcome): ApiResponse {
  if (outcome.ran) return json(200, outcome.body, { 'x-custody-execution-id': outcome.executionId });
  return errorResponse(outcome.error, {
    executionId: outcome.executionId,
    auditPending: outcome.auditPending,
  });
}

function sessionStartResponse(outcome: SessionStartOutcome): ApiResponse {
  if (outcome.started) return json(201, outcome.body, { 'x-custody-session-id': outcome.body.sessionId });
  return errorResponse(outcome.error, {
    executionId: outcome.executionId,
    auditPending: outcome.auditPending,
  });
}

/** The path's id segment, decoded; undefined if it does not decode. */
function pathId(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

export function createBrokerApi(deps: BrokerDeps): BrokerApi {
  const ctx = brokerContext(deps);

  const flushMetrics = () => {
    try {
      ctx.metrics.flush();
    } catch {
      // Metrics are best effort; the audit trail is the record.
    }
  };

  async function route(req: ApiRequest): Promise<ApiResponse> {
    const path = req.path.length > 1 ? req.path.replace(/\/+$/, '') : req.path;
    const method = req.method.toUpperCase();
    const notAllowed = (allow: string) =>
      errorResponse(
        new CustodyError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}; use ${allow}.`, 405),
        {},
        { allow },
      );
    if (path === '/v1/executions') {
      return method === 'POST' ? executionResponse(await runExecution(ctx, req)) : notAllowed('POST');
    }
    const match = /^\/v1\/executions\/([^/]+)$/.exec(path);
    if (match) {
      if (method !== 'GET') return notAllowed('GET');
      let id: string;
      try {
        id = decodeURIComponent(match[1] as string);
      } catch {
        return errorResponse(new NotFoundError('No such execution.'));
      }
      return json(200, { executionId: id, records: await executionRecords(ctx, req.caller, id) });
    }
    if (path === '/v1/sessions') {
      if (method === 'POST') return sessionStartResponse(await startSession(ctx, req));
      if (method === 'GET') return json(200, { sessions: await listSessions(ctx, req.caller) });
      return notAllowed('GET, POST');
    }
    const session = /^\/v1\/sessions\/([^/]+)(\/executions)?$/.exec(path);
    if (session) {
      const id = pathId(session[1] as string) ?? '';
      if (session[2]) {
        return method === 'POST' ? executionResponse(await runInSession(ctx, req, id)) : notAllowed('POST');
      }
      if (method === 'GET') return json(200, await showSession(ctx, req.caller, id));
      if (method === 'DELETE') return json(200, await deleteSession(ctx, req.caller, id));
      return notAllowed('DELETE, GET');
    }
    if (path === '/v1/profiles') {
      return method === 'GET'
        ? json(200, { profiles: await profilesFor(ctx, req.caller) })
        : notAllowed('GET');
    }
    return errorResponse(new NotFoundError(`No route ${path}.`));
  }

  return {
    async handle(req) {
      try {
        return await route(req);
      } catch (error) {
        if (error instanceof CustodyError) return errorResponse(error);
        return json(500, { error: { code: 'INTERNAL_ERROR', message: 'Internal error.' } });
      } finally {
        flushMetrics();
      }
    },

    async recordEdgeDenial(denial) {
      try {
        await recordEdgeDenial(ctx, denial);
      } finally {
        flushMetrics();
      }
    },

    async sweepSessions() {
      if (!ctx.sessions) return { ended: 0 };
      try {
        return await sweepSessions(ctx, ctx.sessions);
      } finally {
        flushMetrics();
      }
    },
  };
}
