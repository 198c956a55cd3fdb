/**
 * Step 3 of an execution: may this principal run this code under this profile, now?
 * Deny by default: the request is allowed only when every check passes, and each refusal carries
 * a stable reason code that the API returns and the audit record keeps.
 */

import { sha256Hex } from '../core/canonical-json.ts';
import { type FileValue, fileByteLength } from '../core/file-map.ts';
import { MAX_MEMORY_MIB, MAX_OUTPUT_BYTES_LIMIT } from '../core/limits.ts';
import type { Grant, Policy, Principal, Profile } from '../core/policy.ts';
import type { SandboxLimits } from '../core/types.ts';
import { scanForCredentials, storableText } from './credential-scan.ts';
import type { ExecutionRequest } from './request.ts';

/** 403 reason codes, in the order the checks run. */
const DENIAL_REASONS = [
  'UNKNOWN_PRINCIPAL',
  'UNKNOWN_PROFILE',
  'NO_GRANT',
  'GRANT_NOT_YET_VALID',
  'GRANT_EXPIRED',
  'LANGUAGE_NOT_ALLOWED',
  'CODE_NOT_APPROVED',
  'HARDCODED_CREDENTIAL',
] as const;
type DenialReason = (typeof DENIAL_REASONS)[number];

/** Refusals that are about the request's size or shape rather than permission. */
type LimitReason = 'INVALID_REQUEST' | 'PAYLOAD_TOO_LARGE';

export type Decision =
  | {
      readonly allowed: true;
      readonly profileName: string;
      readonly profile: Profile;
      readonly limits: SandboxLimits;
    }
  | { readonly allowed: false; readonly reason: DenialReason | LimitReason; readonly message: string };

export type GrantState = 'valid' | 'not-yet-valid' | 'expired';

/** JIT window: valid from notBefore (inclusive) until notAfter (exclusive). */
export function grantState(grant: Grant, now: Date): GrantState {
  const t = now.getTime();
  if (grant.notBefore !== undefined && t < Date.parse(grant.notBefore)) return 'not-yet-valid';
  if (grant.notAfter !== undefined && t >= Date.parse(grant.notAfter)) return 'expired';
  return 'valid';
}

/** The profiles a principal may use at `now`, in policy order. */
export function usableProfiles(policy: Policy, principal: Principal, now: Date): string[] {
  const names = new Set<string>();
  for (const grant of principal.grants) {
    if (grant.profile in policy.profiles && grantState(grant, now) === 'valid') names.add(grant.profile);
  }
  return Object.keys(policy.profiles).filter((name) => names.has(name));
}

function deny(reason: DenialReason | LimitReason, message: string): Extract<Decision, { allowed: false }> {
  return { allowed: false, reason, message };
}

/** Whether the code is on the profile's approved list (verbatim sha256, or a whole-code pattern). */
function isApprovedCode(profile: Profile, code: string): boolean {
  const approved = profile.approvedCode;
  if (approved.mode === 'any') return true;
  if (approved.sha256.includes(sha256Hex(code))) return true;
  return approved.patterns.some((pattern) => new RegExp(`^(?:${pattern})$`).test(code));
}

/**
 * The limits the sandbox enforces, derived from the profile. `memoryMiB` in the policy is the
 * executor Lambda's memory; the user's code gets half of it (the runtime, the engine and the
 * output buffers live in the other half), within what the 32-bit engines can address. Output is
 * capped at what the executor accepts, so that a run's answer fits Lambda's 6 MB response.
 */
export function sandboxLimitsFor(profile: Profile, timeoutMs: number): SandboxLimits {
  return {
    timeoutMs,
    memoryMiB: Math.min(MAX_MEMORY_MIB, Math.max(64, Math.floor(profile.memoryMiB / 2))),
    maxOutputBytes: Math.min(profile.maxOutputBytes, MAX_OUTPUT_BYTES_LIMIT),
  };
}

export interface DecisionInput {
  readonly policy: Policy;
  readonly principal: Principal;
  readonly request: ExecutionRequest;
  readonly now: Date;
}

/**
 * What the credential scan reads of an input file: its text, or a binary file's bytes one
 * character each (latin1), so a key written into bytes that are not UTF-8 is still found.
 */
function scannableText(value: FileValue): string {
  return typeof value === 'string'
    ? value
    : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
}

/** What a refusal says about the request's own text fields that carry credentials (never the value). */
function fieldFindings(
  request: Pick<ExecutionRequest, 'profile' | 'purpose'> & Partial<Pick<ExecutionRequest, 'files'>>,
): string[] {
  const fields: [string, string][] = [['profile', request.profile]];
  if (request.purpose !== undefined) fields.push(['purpose', request.purpose]);
  for (const name of Object.keys(request.files ?? {}))
    fields.push([`file name ${JSON.stringify(storableText(name))}`, name]);
  return fields.flatMap(([where, text]) => scanForCredentials(text).map((f) => `${f.kind} in ${where}`));
}

function credentialDenial(findings: readonly string[]): Extract<Decision, { allowed: false }> {
  return deny(
    'HARDCODED_CREDENTIAL',
    `The request contains what looks like a hard-coded credential (${findings.slice(0, 3).join('; ')}). ` +
      "Use the profile's secrets instead.",
  );
}

/** The profile, if the principal holds a grant valid now for it; else the refusal. */
function granted(
  policy: Policy,
  principal: Principal,
  name: string,
  now: Date,
): Profile | Extract<Decision, { allowed: false }> {
  const profile = Object.hasOwn(policy.profiles, name) ? policy.profiles[name] : undefined;
  if (!profile) return deny('UNKNOWN_PROFILE', `profile: "${name}" is not a profile of this policy.`);
  const grants = principal.grants.filter((g) => g.profile === name);
  if (grants.length === 0) {
    return deny('NO_GRANT', `The caller holds no grant for profile "${name}".`);
  }
  const states = grants.map((g) => grantState(g, now));
  if (!states.includes('valid')) {
    return states.includes('not-yet-valid')
      ? deny('GRANT_NOT_YET_VALID', `The caller's grant for profile "${name}" is not valid yet.`)
      : deny('GRANT_EXPIRED', `The caller's grant for profile "${name}" has expired.`);
  }
  return profile;
}

/**
 * When the principal's just-in-time window for a profile closes: the latest `notAfter` of its
 * grants valid at `now`, or undefined if one of them has none (no end).
 */
export function grantWindowEnd(principal: Principal, profileName: string, now: Date): Date | undefined {
  let end = 0;
  for (const grant of principal.grants) {
    if (grant.profile !== profileName || grantState(grant, now) !== 'valid') continue;
    if (grant.notAfter === undefined) return undefined;
    end = Math.max(end, Date.parse(grant.notAfter));
  }
  return new Date(end);
}

/** `POST /v1/sessions`: the checks of an execution that do not need code (fields, profile, grant now). */
export function decideSessionStart(input: {
  readonly policy: Policy;
  readonly principal: Principal;
  readonly request: { readonly profile: string; readonly purpose?: string | undefined };
  readonly now: Date;
}): Decision {
  const { request } = input;
  const inFields = fieldFindings({ profile: request.profile, purpose: request.purpose });
  if (inFields.length > 0) return credentialDenial(inFields);
  const profile = granted(input.policy, input.principal, request.profile, input.now);
  if ('allowed' in profile) return profile;
  return {
    allowed: true,
    profileName: request.profile,
    profile,
    limits: sandboxLimitsFor(profile, profile.timeoutMs),
  };
}

export function decide({ policy, principal, request, now }: DecisionInput): Decision {
  // The fields stored with any decision (profile, purpose, file names) are checked first: a request
  // that carries a credential there is refused for it, whatever else it lacks.
  const inFields = fieldFindings(request);
  if (inFields.length > 0) return credentialDenial(inFields);

  const profile = granted(policy, principal, request.profile, now);
  if ('allowed' in profile) return profile;

  if (!profile.languages.includes(request.language)) {
    return deny(
      'LANGUAGE_NOT_ALLOWED',
      `language: profile "${request.profile}" allows ${profile.languages.join(', ')}, not ${request.language}.`,
    );
  }

  const codeBytes = Buffer.byteLength(request.code, 'utf8');
  if (codeBytes > profile.maxCodeBytes) {
    return deny(
      'PAYLOAD_TOO_LARGE',
      `code: ${codeBytes} bytes exceeds the profile's maxCodeBytes of ${profile.maxCodeBytes}.`,
    );
  }
  const inputBytes = Object.values(request.files ?? {}).reduce((n, value) => n + fileByteLength(value), 0);
  if (inputBytes > profile.maxInputBytes) {
    return deny(
      'PAYLOAD_TOO_LARGE',
      `files: ${inputBytes} bytes of input files exceed the profile's maxInputBytes of ${profile.maxInputBytes}.`,
    );
  }
  if (request.timeoutMs !== undefined && request.timeoutMs > profile.timeoutMs) {
    return deny(
      'INVALID_REQUEST',
      `timeoutMs: ${request.timeoutMs} exceeds the profile's timeoutMs of ${profile.timeoutMs}.`,
    );
  }

  if (!isApprovedCode(profile, request.code)) {
    return deny('CODE_NOT_APPROVED', `The code is not on the approved list of profile "${request.profile}".`);
  }

  const findings = [
    ...scanForCredentials(request.code).map((f) => `${f.kind} in code line ${f.line}`),
    ...Object.entries(request.files ?? {}).flatMap(([name, content]) =>
      scanForCredentials(scannableText(content)).map(
        (f) => `${f.kind} in file ${JSON.stringify(storableText(name))} line ${f.line}`,
      ),
    ),
  ];
  if (findings.length > 0) return credentialDenial(findings);

  return {
    allowed: true,
    profileName: request.profile,
    profile,
    limits: sandboxLimitsFor(profile, request.timeoutMs ?? profile.timeoutMs),
  };
}
