/**
 * `custody revoke` and `custody reinstate`: the kill switch, an operator action taken with the
 * operator's own credentials, never through the agents' API (see docs/revocation.md).
 *
 *   custody revoke    --profile NAME   [--reason TEXT]   every session of the profile invalid, no new execution
 *   custody revoke    --principal ID   [--reason TEXT]   the principal's grants suspended
 *   custody reinstate --profile NAME | --principal ID
 *
 * Locally the state goes straight into the local stack's table (`.custody/local.json`), where the
 * running server reads it on its next request. On AWS (`--stack NAME`, or `--table NAME` with
 * `--role-name NAME`) it goes into the deployed audit table, and revoking a profile also puts the
 * `aws:TokenIssueTime` deny on its execution role. Every action leaves a `revoked` or
 * `reinstated` audit record.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudWatchAuditLog } from '../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../../lambda/adapters/aws/dynamodb-audit-store.ts';
import {
  DynamoDbRevocationStore,
  revocationTargetProblem,
} from '../../lambda/adapters/aws/dynamodb-revocation-store.ts';
import { REVOKE_POLICY_NAME, revokeRoleSessions } from '../../lambda/adapters/aws/iam-session-revocation.ts';
import { readStackOutputs } from '../../lambda/adapters/aws/stack-outputs.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import type { AuditCaller, AuditRevocation } from '../../lambda/core/audit-record.ts';
import { newUlid } from '../../lambda/core/ids.ts';
import { loadPolicyFile, type Policy } from '../../lambda/core/policy.ts';
import type { AuditLog, Clock, RevocationScope, RevocationState } from '../../lambda/core/ports.ts';
import { revocationRecord } from '../../lambda/core/revocation-record.ts';
import { auditLogGroupNameOf } from '../../lambda/core/stack-outputs.ts';
import { CustodyConfigError } from '../index.ts';
import { clientSet, regionOf } from './aws-clients.ts';
import { type CliIo, EXIT, line, localStack, parseCommandArgs, UsageError } from './main.ts';

type Action = 'revoke' | 'reinstate';

export const KILL_SWITCH_USAGE = `custody revoke | reinstate — the kill switch (an operator action; see docs/revocation.md)

Usage:
  custody revoke    --profile NAME  [--reason TEXT] [AWS options] [--json]
  custody revoke    --principal ID  [--reason TEXT] [AWS options] [--json]
  custody reinstate --profile NAME | --principal ID [--reason TEXT] [AWS options] [--json]

Without AWS options: the local stack (.custody/local.json).
AWS options (your own AWS credentials):
  --stack NAME       the deployed custody stack: reads its audit table and profile role names
  --table NAME       the audit table, instead of --stack (with --role-name NAME to revoke a profile)
  --log-group NAME   the audit log group for the action's audit line (default with --stack:
                     /custody/STACK/audit; with --table only, the line is not written)
  --region NAME      (default AWS_REGION)
`;

/** Where the kill switch is written: the local stack or a deployed one. */
interface ControlPlane {
  readonly origin: 'aws' | 'local';
  readonly dynamo: DynamoDBClient;
  readonly tableName: string;
  readonly log?: AuditLog;
  /** Why there is no audit log line (AWS without --log-group). */
  readonly noLogReason?: string;
  readonly operator: () => Promise<AuditCaller>;
  /** AWS, profile scope: the execution role to put the session deny on. */
  readonly roleName?: string;
  readonly iam?: IAMClient;
  readonly policy?: Policy;
  readonly close: () => void;
}

export interface KillSwitchOptions {
  /** @default () => new Date() */
  readonly clock?: Clock;
}

const OPTIONS = {
  profile: { type: 'string' },
  principal: { type: 'string' },
  reason: { type: 'string' },
  stack: { type: 'string' },
  table: { type: 'string' },
  'role-name': { type: 'string' },
  'log-group': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const MAX_REASON_CHARS = 512;

function targetOf(command: string, values: { profile?: string; principal?: string }) {
  if ((values.profile === undefined) === (values.principal === undefined)) {
    throw new UsageError(`custody ${command}: give exactly one of --profile NAME or --principal ID`);
  }
  const scope: RevocationScope = values.profile !== undefined ? 'profile' : 'principal';
  const target = (values.profile ?? values.principal) as string;
  const problem = revocationTargetProblem(scope, target);
  if (problem !== undefined) throw new UsageError(`--${scope}: ${problem}`);
  return { scope, target };
}

/** Checks the target against the policy the stack runs, when we have it. */
function checkAgainstPolicy(policy: Policy | undefined, scope: RevocationScope, target: string): void {
  if (!policy) return;
  if (scope === 'profile' && !Object.hasOwn(policy.profiles, target)) {
    throw new UsageError(
      `--profile: "${target}" is not a profile of the policy (${Object.keys(policy.profiles).join(', ')})`,
    );
  }
  if (scope === 'principal' && !policy.principals.some((p) => p.id === target)) {
    throw new UsageError(
      `--principal: "${target}" is not a principal id of the policy (${policy.principals.map((p) => p.id).join(', ')})`,
    );
  }
}

async function controlPlane(
  io: CliIo,
  values: {
    stack?: string;
    table?: string;
    'role-name'?: string;
    'log-group'?: string;
    region?: string;
    endpoint?: string;
  },
  scope: RevocationScope,
  target: string,
  action: Action,
): Promise<ControlPlane> {
  if (values.stack === undefined && values.table === undefined) {
    if (values['role-name'] !== undefined || values['log-group'] !== undefined) {
      throw new UsageError('--role-name and --log-group apply on AWS: pass --stack NAME or --table NAME too');
    }
    const local = localStack(io);
    if (!local) {
      throw new CustodyConfigError(
        'no local stack: start it with `npm start` (which writes .custody/local.json), or pass --stack NAME for a deployed one',
      );
    }
    const policy =
      local.policyFile !== undefined && existsSync(local.policyFile)
        ? loadPolicyFile(local.policyFile)
        : undefined;
    checkAgainstPolicy(policy, scope, target);
    const dynamo = new DynamoDBClient({
      endpoint: local.dynamodbEndpoint,
      region: local.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 2,
    });
    return {
      origin: 'local',
      dynamo,
      tableName: local.auditTableName,
      log: new FileAuditLog(local.auditLog),
      operator: async () => ({ arn: `local:${userInfo().username}` }),
      ...(policy ? { policy } : {}),
      close: () => dynamo.destroy(),
    };
  }

  if (values.stack !== undefined && values.table !== undefined) {
    throw new UsageError('give either --stack NAME or --table NAME, not both');
  }
  const region = regionOf(io, values.region);
  const { track, close } = clientSet();
  try {
    let tableName = values.table;
    let roleName = values['role-name'];
    let stackLogGroup: string | undefined;
    if (values.stack !== undefined) {
      const outputs = await readStackOutputs(track(new CloudFormationClient({ region })), values.stack);
      tableName = outputs.auditTableName;
      // Stacks deployed before the output existed: the group is named after the stack.
      stackLogGroup = outputs.auditLogGroupName ?? auditLogGroupNameOf(values.stack);
      if (scope === 'profile' && roleName === undefined) {
        roleName = outputs.roleNames[target];
        if (roleName === undefined) {
          const known = Object.keys(outputs.roleNames);
          throw new UsageError(
            `--profile: stack ${values.stack} has no execution role for profile "${target}"` +
              (known.length > 0 ? ` (profiles: ${known.join(', ')})` : ''),
          );
        }
      }
    }
    if (scope === 'principal' && roleName !== undefined) {
      throw new UsageError('--role-name applies to --profile only');
    }
    if (scope === 'profile' && action === 'revoke' && roleName === undefined) {
      throw new UsageError(
        '--role-name is required with --table to revoke a profile on AWS (or pass --stack NAME to read it)',
      );
    }
    const dynamo = track(
      new DynamoDBClient({ region, ...(values.endpoint ? { endpoint: values.endpoint } : {}) }),
    );
    const sts = track(new STSClient({ region }));
    const logGroup = values['log-group'] ?? stackLogGroup;
    return {
      origin: 'aws',
      dynamo,
      tableName: tableName as string,
      ...(logGroup !== undefined
        ? {
            log: new CloudWatchAuditLog({
              client: track(new CloudWatchLogsClient({ region })),
              logGroupName: logGroup,
            }),
          }
        : { noLogReason: 'no --log-group (or --stack) given: the record is in the audit table only' }),
      operator: async () => {
        const me = await sts.send(new GetCallerIdentityCommand({}));
        if (!me.Arn)
          throw new CustodyConfigError('STS GetCallerIdentity returned no ARN for your credentials');
        return { arn: me.Arn, ...(me.Account ? { accountId: me.Account } : {}) };
      },
      ...(roleName !== undefined && scope === 'profile'
        ? { roleName, iam: track(new IAMClient({ region })) }
        : {}),
      close,
    };
  } catch (error) {
    close();
    throw error;
  }
}

function describeState(state: RevocationState): string {
  const what = `${state.scope} ${state.target}`;
  if (!state.revoked)
    return `${what} is not revoked${state.reinstatedAt ? ` (reinstated ${state.reinstatedAt})` : ''}`;
  return `${what} is revoked since ${state.revokedAt} by ${state.revokedBy}${state.reason ? ` (${state.reason})` : ''}`;
}

/** Runs `custody revoke` or `custody reinstate`; returns the exit code (errors are thrown to main). */
export async function killSwitchCommand(
  action: Action,
  args: string[],
  io: CliIo,
  options: KillSwitchOptions = {},
): Promise<number> {
  const command = action;
  const { values } = parseCommandArgs(command, args, OPTIONS, false);
  if (values.help) {
    io.stdout.write(KILL_SWITCH_USAGE);
    return EXIT.succeeded;
  }
  const { scope, target } = targetOf(command, values);
  if (values.reason !== undefined && values.reason.length > MAX_REASON_CHARS) {
    throw new UsageError(`--reason: at most ${MAX_REASON_CHARS} characters, got ${values.reason.length}`);
  }
  const clock = options.clock ?? (() => new Date());
  const plane = await controlPlane(io, values, scope, target, action);
  try {
    const operator = await plane.operator();
    const store = new DynamoDbRevocationStore({ client: plane.dynamo, tableName: plane.tableName });
    const at = clock();
    const warnings: string[] = [];
    let state: RevocationState | undefined;
    let changed = true;
    let roleName: string | undefined;
    let roleFailure: Error | undefined;

    if (action === 'revoke') {
      // 1. The table: the broker refuses new executions from its next request on.
      state = await store.revoke({
        scope,
        target,
        at,
        by: operator.arn,
        ...(values.reason ? { reason: values.reason } : {}),
      });
      // 2. AWS: the role refuses every session issued before the instant, whoever holds it.
      if (plane.roleName !== undefined && plane.iam !== undefined) {
        try {
          await revokeRoleSessions(plane.iam, plane.roleName, at);
          roleName = plane.roleName;
        } catch (error) {
          // Still record what was done (the table state); then fail loudly.
          roleFailure = error as Error;
        }
      }
    } else {
      const result = await store.reinstate({ scope, target, at, by: operator.arn });
      changed = result.changed;
      state = result.state;
    }

    // 3. The audit record of the action.
    let recordId: string | undefined;
    if (changed) {
      const revocation: AuditRevocation = {
        scope,
        target,
        ...(values.reason ? { reason: values.reason } : {}),
        ...(action === 'revoke' && scope === 'profile' ? { sessionsIssuedBefore: at.toISOString() } : {}),
        ...(roleName !== undefined ? { roleName } : {}),
      };
      const record = revocationRecord({
        action: action === 'revoke' ? 'revoked' : 'reinstated',
        actionId: newUlid(at),
        at,
        operator,
        revocation,
        origin: plane.origin,
      });
      const auditStore = new DynamoDbAuditStore({ client: plane.dynamo, tableName: plane.tableName });
      await auditStore.put(record);
      recordId = record.executionId;
      if (plane.log) {
        try {
          await plane.log.write(record);
        } catch (error) {
          warnings.push(`the audit log line was not written: ${(error as Error).message}`);
        }
      } else if (plane.noLogReason) {
        warnings.push(plane.noLogReason);
      }
    }

    if (roleFailure !== undefined) {
      line(
        io.stderr,
        `custody: profile ${target} is revoked in the table (new executions are refused, audit record ${recordId}), ` +
          `but sessions already issued are NOT revoked: ${roleFailure.message}. ` +
          `Fix the permission and run the same command again.`,
      );
      return EXIT.unavailable;
    }
    if (values.json) {
      line(
        io.stdout,
        JSON.stringify(
          {
            action,
            scope,
            target,
            changed,
            ...(state ? { state } : {}),
            ...(roleName !== undefined ? { roleName, rolePolicyName: REVOKE_POLICY_NAME } : {}),
            ...(recordId !== undefined ? { auditRecord: recordId } : {}),
            ...(warnings.length > 0 ? { warnings } : {}),
          },
          null,
          2,
        ),
      );
    } else {
      line(io.stdout, humanSummary(action, scope, target, at, changed, state, roleName, recordId));
      for (const warning of warnings) line(io.stderr, `custody: warning: ${warning}`);
    }
    return EXIT.succeeded;
  } finally {
    plane.close();
  }
}

function humanSummary(
  action: Action,
  scope: RevocationScope,
  target: string,
  at: Date,
  changed: boolean,
  state: RevocationState | undefined,
  roleName: string | undefined,
  recordId: string | undefined,
): string {
  const lines: string[] = [];
  if (!changed) {
    lines.push(
      `custody: ${state ? describeState(state) : `${scope} ${target} is not revoked`}; nothing changed.`,
    );
    return lines.join('\n');
  }
  if (action === 'revoke' && scope === 'profile') {
    lines.push(`custody: profile ${target} revoked at ${at.toISOString()}.`);
    lines.push('  New executions under it are refused (403 PROFILE_REVOKED).');
    lines.push(
      `  Sessions of its role issued before ${at.toISOString()} are invalid, also after reinstatement.`,
    );
    if (roleName !== undefined) {
      lines.push(
        `  Role ${roleName}: inline policy ${REVOKE_POLICY_NAME} denies sessions issued before that instant.`,
      );
    }
  } else if (action === 'revoke') {
    lines.push(`custody: principal ${target} suspended at ${at.toISOString()}.`);
    lines.push('  Its requests are refused (403 PRINCIPAL_SUSPENDED); other principals are unaffected.');
  } else {
    lines.push(`custody: ${scope} ${target} reinstated at ${at.toISOString()}; it may run again.`);
    if (scope === 'profile') {
      lines.push(
        `  Sessions issued before the revocation (${state?.sessionsIssuedBefore ?? '-'}) stay invalid.`,
      );
    }
  }
  if (recordId !== undefined) lines.push(`  Audit record: ${recordId} (custody audit tail shows it).`);
  if (action === 'revoke') lines.push(`  Undo with: custody reinstate --${scope} ${target}`);
  return lines.join('\n');
}
