/**
 * Artifacts (#16), after seal: each output file of the sealed (redacted) answer also stored at
 * `outputs.prefix/<executionId>/<path>` WITH the call's role session, which may put there and do
 * nothing else. A profile without `outputs` stores nothing. Each artifact's key, bytes and sha256
 * go to the answer and the audit record.
 */
import { sha256Hex } from '../../core/canonical-json.ts';
import type { ArtifactRecord, ArtifactsPort } from '../../core/datasets.ts';
import { DependencyError } from '../../core/errors.ts';
import type { Profile } from '../../core/policy.ts';
import type { AssumedSession, ExecutionContext } from '../../core/ports.ts';

export type StoredArtifact = ArtifactRecord & { readonly bucket: string };

/** The artifacts stored (none: undefined). Throws what the port threw (the pipeline fails closed). */
export async function storeArtifacts(
  port: ArtifactsPort | undefined,
  session: AssumedSession,
  profile: Profile,
  run: { readonly executionId: string; readonly files: Readonly<Record<string, unknown>> },
  context?: ExecutionContext,
): Promise<StoredArtifact[] | undefined> {
  const { outputs } = profile;
  const names = Object.keys(run.files);
  if (!outputs || names.length === 0) return undefined;
  if (!port) throw new DependencyError('artifacts', 'This deployment has no artifacts adapter.');
  const stored: StoredArtifact[] = [];
  for (const path of names) {
    const body = bytesOf(run.files[path]);
    const key = `${outputs.prefix}${run.executionId}/${path}`;
    await port.put(session, { bucket: outputs.bucket, key }, body, context);
    stored.push({ path, key, bucket: outputs.bucket, bytes: body.byteLength, sha256: sha256Hex(body) });
  }
  return stored;
}

/** An answer's file as bytes: text as UTF-8, `{ base64 }` decoded. */
function bytesOf(value: unknown): Uint8Array {
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  const base64 = (value as { base64?: unknown } | null)?.base64;
  return typeof base64 === 'string' ? Buffer.from(base64, 'base64') : Buffer.from(JSON.stringify(value));
}
