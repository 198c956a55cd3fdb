/**
 * Step 1 of an execution: who is calling, in the policy's terms.
 *
 * API Gateway (AWS_IAM auth) reports the ARN the request was signed by. For an agent running
 * under a role, that is an STS session ARN, `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`,
 * which drops the role's path; the policy names the role, `arn:aws:iam::ACCOUNT:role/PATH/ROLE`.
 * A session matches a role when partition, account and role NAME are equal (role names are unique
 * within an account whatever their path). Everything else matches only by exact equality: no
 * prefixes, no wildcards, no case folding.
 */
import type { Policy, Principal } from '../core/policy.ts';

export type ParsedCallerArn =
  | {
      readonly kind: 'assumed-role';
      readonly partition: string;
      readonly accountId: string;
      readonly roleName: string;
      readonly sessionName: string;
    }
  | { readonly kind: 'iam'; readonly partition: string; readonly accountId: string; readonly arn: string };

const PARTITION = '(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc)';
/** IAM names: [\w+=,.@-]. Session names: the same charset, 2-64 chars. */
const ASSUMED_ROLE = new RegExp(
  `^arn:${PARTITION}:sts::(\\d{12}):assumed-role/([\\w+=,.@-]{1,64})/([\\w+=,.@-]{2,64})$`,
);
const IAM_PRINCIPAL = new RegExp(
  `^arn:${PARTITION}:iam::(\\d{12}):(role|user)/((?:[\\w+=,.@-]+/)*)([\\w+=,.@-]{1,64})$`,
);

/** Parses a caller ARN; undefined for anything that is not a role session, role or user ARN. */
export function parseCallerArn(arn: string): ParsedCallerArn | undefined {
  const session = ASSUMED_ROLE.exec(arn);
  if (session) {
    const [, partition, accountId, roleName, sessionName] = session as unknown as [
      string,
      string,
      string,
      string,
      string,
    ];
    return { kind: 'assumed-role', partition, accountId, roleName, sessionName };
  }
  const iam = IAM_PRINCIPAL.exec(arn);
  if (iam) {
    const [, partition, accountId] = iam as unknown as [string, string, string];
    return { kind: 'iam', partition, accountId, arn };
  }
  return undefined;
}

interface PolicyRole {
  readonly partition: string;
  readonly accountId: string;
  readonly roleName: string;
}

function policyRole(principalArn: string): PolicyRole | undefined {
  const m = IAM_PRINCIPAL.exec(principalArn);
  if (!m) return undefined;
  const [, partition, accountId, kind, , roleName] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (kind !== 'role') return undefined;
  return { partition, accountId, roleName };
}

/** Whether the caller ARN is the policy principal (or a session of it). */
export function callerMatchesPrincipal(callerArn: string, principalArn: string): boolean {
  const caller = parseCallerArn(callerArn);
  if (!caller) return false;
  if (caller.kind === 'iam') return caller.arn === principalArn;
  const role = policyRole(principalArn);
  return (
    role !== undefined &&
    role.partition === caller.partition &&
    role.accountId === caller.accountId &&
    role.roleName === caller.roleName
  );
}

export type Identification =
  | { readonly matched: true; readonly principal: Principal }
  | { readonly matched: false; readonly reason: 'UNKNOWN_PRINCIPAL'; readonly message: string };

/**
 * Finds the policy principal a caller is. The account id API Gateway reports, when present, must
 * agree with the ARN's. Two principals matching one caller (same role name under two paths, which
 * IAM itself forbids) is treated as no match rather than a guess.
 */
export function identify(policy: Policy, caller: { arn: string; accountId?: string }): Identification {
  const unknown = {
    matched: false,
    reason: 'UNKNOWN_PRINCIPAL',
    message: 'The caller is not a principal of the custody policy.',
  } as const;
  const parsed = parseCallerArn(caller.arn);
  if (!parsed) return unknown;
  if (caller.accountId !== undefined && caller.accountId !== '' && caller.accountId !== parsed.accountId) {
    return unknown;
  }
  const matches = policy.principals.filter((p) => callerMatchesPrincipal(caller.arn, p.arn));
  const [only] = matches;
  if (matches.length !== 1 || !only) return unknown;
  return { matched: true, principal: only };
}
