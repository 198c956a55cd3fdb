/**
 * The parts of an audit record the steps share: who called, what they asked (only what may be
 * stored), the record's envelope, and the role a run used.
 */
import type {
  AuditCaller,
  AuditFile,
  AuditRecord,
  AuditRequest,
  AuditRole,
  AuditSession,
} from '../core/audit-record.ts';
import { sha256Hex } from '../core/canonical-json.ts';
import { type FileValue, fileBytesOf } from '../core/file-map.ts';
import type { Principal } from '../core/policy.ts';
import type { AssumedSession } from '../core/ports.ts';
import type { CallerIdentity } from './caller.ts';
import type { BrokerContext } from './context.ts';
import { storableText } from './credential-scan.ts';
import type { ExecutionRequest } from './request.ts';

/** The caller as the audit keeps it: what the edge reported, and the principal it matched. */
export function auditCaller(caller: CallerIdentity, principal?: Principal): AuditCaller {
  return {
    arn: caller.arn === '' ? 'anonymous' : caller.arn,
    ...(principal ? { principalArn: principal.arn, principalId: principal.id } : {}),
    ...(caller.accountId ? { accountId: caller.accountId } : {}),
    ...(caller.accessKeyId ? { accessKeyId: caller.accessKeyId } : {}),
    ...(caller.sourceIp ? { sourceIp: caller.sourceIp } : {}),
    ...(caller.userAgent ? { userAgent: storableText(caller.userAgent.slice(0, 512)) } : {}),
  };
}

/** The fields every record has, stamped with the context's clock and origin. */
export function baseRecord(
  ctx: Pick<BrokerContext, 'clock' | 'origin'>,
  executionId: string,
  event: AuditRecord['event'],
  caller: AuditCaller,
  request: AuditRequest,
  decision: AuditRecord['decision'],
): AuditRecord {
  return {
    schemaVersion: 1,
    executionId,
    event,
    timestamp: ctx.clock().toISOString(),
    caller,
    request,
    decision,
    origin: ctx.origin,
  };
}

/** What the audit keeps of a request. Code in full only when allowed and the profile says so. */
export function auditRequest(
  request: Partial<ExecutionRequest> | undefined,
  includeCode: boolean,
): AuditRequest {
  if (!request) return {};
  const out: { -readonly [K in keyof AuditRequest]: AuditRequest[K] } = {};
  if (request.profile !== undefined) out.profile = storableText(request.profile);
  if (request.language !== undefined) out.language = request.language;
  if (request.code !== undefined) {
    out.codeSha256 = sha256Hex(request.code);
    out.codeBytes = Buffer.byteLength(request.code, 'utf8');
    if (includeCode) out.code = request.code;
  }
  if (request.purpose !== undefined) out.purpose = storableText(request.purpose);
  if (request.files !== undefined) {
    out.fileNames = Object.keys(request.files).map(storableText);
    out.files = auditFiles(request.files);
  }
  return out;
}

/** Each file's name (storable), size and the sha256 of its exact bytes, in the map's order (#16). */
export function auditFiles(files: Readonly<Record<string, FileValue>>): AuditFile[] {
  return Object.entries(files).map(([name, value]) => {
    const bytes = fileBytesOf(value);
    return { name: storableText(name), bytes: bytes.byteLength, sha256: sha256Hex(bytes) };
  });
}

/** The role a run used, as its `completed` record names it. */
export function roleOf(session: AssumedSession): AuditRole {
  return {
    arn: session.roleArn,
    assumedRoleArn: session.assumedRoleArn,
    sessionName: session.sessionName,
    sourceIdentity: session.sourceIdentity,
  };
}

/** The decision of every `started` and `completed` record. */
export const ALLOWED = { allowed: true, reason: 'ALLOWED' } as const;

/** What the records of one allowed execution share, from its `started` record to its last. */
export interface AllowedRun {
  readonly executionId: string;
  readonly caller: AuditCaller;
  /** The request as the audit keeps it, with the timeout the run got. */
  readonly request: AuditRequest;
  /** The names (never the values) of the secrets the profile injects. */
  readonly secretVariables: readonly string[];
  /** A call of a session: which, and its place in it (on each of its records). */
  readonly session?: AuditSession;
}

/** The `session` field of a run's records, if it is a call of a session. */
export function sessionOf(run: { readonly session?: AuditSession }): { session?: AuditSession } {
  return run.session ? { session: run.session } : {};
}
