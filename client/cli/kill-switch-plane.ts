/**
 * Where the kill switch is written: the local stack's table (`.custody/local.json`), or a deployed
 * stack's (`--stack NAME`, or `--table NAME` with `--role-name NAME`) with the operator's own AWS
 * credentials, with the IAM role whose older sessions a profile revocation denies.
 */
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { CloudWatchAuditLog } from '../../lambda/adapters/aws/cloudwatch-audit-log.ts';
import { readStackOutputs } from '../../lambda/adapters/aws/stack-outputs.ts';
import { FileAuditLog } from '../../lambda/adapters/local/file-audit-log.ts';
import type { AuditCaller } from '../../lambda/core/audit-record.ts';
import { loadPolicyFile, type Policy } from '../../lambda/core/policy.ts';
import type { AuditLog, RevocationScope } from '../../lambda/core/ports.ts';
import { auditLogGroupNameOf } from '../../lambda/core/stack-outputs.ts';
import { CustodyConfigError } from '../index.ts';
import { localDynamoClient } from './audit-target.ts';
import { clientSet, regionOf } from './aws-clients.ts';
import type { CliIo } from './io.ts';
import { localStack } from './local-home.ts';
import { UsageError } from './usage-error.ts';

export type KillSwitchAction = 'revoke' | 'reinstate';

/** The AWS options of `revoke` and `reinstate`. */
export interface ControlPlaneFlags {
  stack?: string;
  table?: string;
  roleName?: string;
  logGroup?: string;
  region?: string;
  endpoint?: string;
}

/** Where the kill switch is written: the local stack or a deployed one. */
export interface ControlPlane {
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

export async function controlPlane(
  io: CliIo,
  values: ControlPlaneFlags,
  scope: RevocationScope,
  target: string,
  action: KillSwitchAction,
): Promise<ControlPlane> {
  if (values.stack === undefined && values.table === undefined) {
    if (values.roleName !== undefined || values.logGroup !== undefined) {
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
    const dynamo = localDynamoClient(local);
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
    let roleName = values.roleName;
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
    const logGroup = values.logGroup ?? stackLogGroup;
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
