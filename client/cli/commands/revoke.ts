/**
 * `custody revoke` and `custody reinstate`: the kill switch, an operator action taken with the
 * operator's own credentials, never through the agents' API (see docs/revocation.md).
 *
 *   custody revoke    --profile NAME   [--reason TEXT]   every session of the profile invalid, no new execution
 *   custody revoke    --principal ID   [--reason TEXT]   the principal's grants suspended
 *   custody reinstate --profile NAME | --principal ID
 *
 * Locally the state goes straight into the local stack's table, where the running server reads it
 * on its next request; on AWS into the deployed audit table, and revoking a profile also puts the
 * `aws:TokenIssueTime` deny on its execution role (`kill-switch-plane.ts`). Every action leaves a
 * `revoked` or `reinstated` audit record.
 */
import { Command } from 'commander';
import { DynamoDbAuditStore } from '../../../lambda/adapters/aws/dynamodb-audit-store.ts';
import {
  DynamoDbRevocationStore,
  revocationTargetProblem,
} from '../../../lambda/adapters/aws/dynamodb-revocation-store.ts';
import {
  REVOKE_POLICY_NAME,
  revokeRoleSessions,
} from '../../../lambda/adapters/aws/iam-session-revocation.ts';
import type { AuditRevocation } from '../../../lambda/core/audit-record.ts';
import { newUlid } from '../../../lambda/core/ids.ts';
import type { RevocationScope, RevocationState } from '../../../lambda/core/ports.ts';
import { revocationRecord } from '../../../lambda/core/revocation-record.ts';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { EXIT, type ExitCode } from '../exit-codes.ts';
import { line } from '../io.ts';
import {
  type KillSwitchAction as Action,
  type ControlPlaneFlags,
  controlPlane,
} from '../kill-switch-plane.ts';
import { UsageError } from '../usage-error.ts';

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

interface KillSwitchFlags extends ControlPlaneFlags {
  profile?: string;
  principal?: string;
  reason?: string;
  json?: boolean;
}

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

/** `custody revoke` or `custody reinstate`; `--help` prints KILL_SWITCH_USAGE. */
export function killSwitchCommand(action: Action, ctx: CommandContext): Command {
  const command = new Command(action)
    .description(
      action === 'revoke' ? 'the kill switch: revoke a profile or suspend a principal' : 'undo a revoke',
    )
    .option('--profile <name>', 'the profile')
    .option('--principal <id>', 'the policy principal id')
    .option('--reason <text>', 'why, for the audit record')
    .option('--stack <name>', 'the deployed custody stack')
    .option('--table <name>', 'the audit table, instead of --stack')
    .option('--role-name <name>', "with --table: the profile's execution role")
    .option('--log-group <name>', "the audit log group for the action's audit line")
    .option('--json', 'print the result as JSON')
    .configureHelp({ formatHelp: () => KILL_SWITCH_USAGE });
  return endpointOptions(command).action(async (values: KillSwitchFlags) => {
    ctx.exitCode = await killSwitch(action, values, ctx);
  });
}

async function killSwitch(action: Action, values: KillSwitchFlags, ctx: CommandContext): Promise<ExitCode> {
  const { io } = ctx;
  const command = action;
  const { scope, target } = targetOf(command, values);
  if (values.reason !== undefined && values.reason.length > MAX_REASON_CHARS) {
    throw new UsageError(`--reason: at most ${MAX_REASON_CHARS} characters, got ${values.reason.length}`);
  }
  const clock = ctx.options.clock ?? (() => new Date());
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

function describeState(state: RevocationState): string {
  const what = `${state.scope} ${state.target}`;
  if (!state.revoked)
    return `${what} is not revoked${state.reinstatedAt ? ` (reinstated ${state.reinstatedAt})` : ''}`;
  return `${what} is revoked since ${state.revokedAt} by ${state.revokedBy}${state.reason ? ` (${state.reason})` : ''}`;
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
