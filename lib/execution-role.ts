/**
 * One IAM role per profile: the identity an execution runs under. The broker assumes it for one
 * call (role chaining), naming the caller as SourceIdentity and tagging the session; with the
 * session's credentials it reads the profile's secrets and invokes the profile's executor.
 */
import { ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { TAG_CALLER, TAG_EXECUTION_ID, TAG_PROFILE } from '../lambda/core/ids.ts';
import type { Policy, Profile } from '../lambda/core/policy.ts';
import { TAG_SESSION_ID } from '../lambda/core/session.ts';
import { acknowledgeDatasetWildcards, datasetStatements } from './dataset-grants.ts';
import type { CustodySessions } from './sessions.ts';

/**
 * Session tags the broker sets on every AssumeRole (its own constants, so the two cannot drift);
 * the trust policy requires exactly these.
 */
export const SESSION_TAG_KEYS = {
  /** The caller's IAM ARN as API Gateway reported it. */
  caller: TAG_CALLER,
  executionId: TAG_EXECUTION_ID,
  /** The profile name; must equal the role's own profile. */
  profile: TAG_PROFILE,
} as const;

/**
 * The SourceIdentity condition value when no principal holds a grant on the profile. It contains
 * `:`, which STS does not allow in a SourceIdentity, so no request can match it.
 */
export const NO_GRANTED_PRINCIPAL = 'custody:no-principal-holds-a-grant';

export interface ExecutionRoleProps {
  readonly profileName: string;
  readonly profile: Profile;
  readonly policy: Policy;
  /** The only principal that may assume the role: the broker's role. */
  readonly broker: iam.IRole;
  /** The profile's executor, the one function the role may invoke. */
  readonly executor: lambda.IFunction;
  /** Where session state lives: the role may touch the state of the session it is tagged with. */
  readonly sessions: CustodySessions;
}

export class ExecutionRole extends Construct {
  readonly role: iam.Role;
  /** The profile's secrets by variable name, referenced by name (teams create them). */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
  /**
   * The permissions boundary: the same two permissions as the role's policy. Whatever policy is
   * later attached to the role by hand, the role can never do more than this.
   */
  readonly boundary: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: ExecutionRoleProps) {
    super(scope, id);

    const grantedIds = props.policy.principals
      .filter((p) => p.grants.some((g) => g.profile === props.profileName))
      .map((p) => p.id);

    // STS authorizes AssumeRole, SetSourceIdentity and TagSession separately, each against the
    // context keys defined for that action, so each action gets the conditions on its own keys.
    const broker = new iam.ArnPrincipal(props.broker.roleArn);
    const sourceIdentity = {
      Null: { 'sts:SourceIdentity': 'false' },
      // The caller is a principal the policy grants this profile.
      StringEquals: { 'sts:SourceIdentity': grantedIds.length > 0 ? grantedIds : [NO_GRANTED_PRINCIPAL] },
    };
    const sessionTags = {
      // All three tags are set...
      Null: {
        [`aws:RequestTag/${SESSION_TAG_KEYS.caller}`]: 'false',
        [`aws:RequestTag/${SESSION_TAG_KEYS.executionId}`]: 'false',
        [`aws:RequestTag/${SESSION_TAG_KEYS.profile}`]: 'false',
      },
      // ...the profile tag names this role's own profile...
      StringEquals: { [`aws:RequestTag/${SESSION_TAG_KEYS.profile}`]: props.profileName },
      // ...a call of a session also names its session (the state prefix the role may touch)...
      StringLikeIfExists: { [`aws:RequestTag/${TAG_SESSION_ID}`]: 'ses_*' },
      // ...and no other tag can be set.
      'ForAllValues:StringEquals': { 'aws:TagKeys': [...Object.values(SESSION_TAG_KEYS), TAG_SESSION_ID] },
    };

    this.role = new iam.Role(this, 'Role', {
      description: `custody execution role of profile ${props.profileName}`,
      // The broker's AssumeRole is role chaining, which STS caps at one hour anyway.
      maxSessionDuration: Duration.hours(1),
      // AssumeRole itself requires both: no session without a granted caller and the tags.
      assumedBy: new iam.PrincipalWithConditions(broker, {
        Null: { ...sourceIdentity.Null, ...sessionTags.Null },
        StringEquals: { ...sourceIdentity.StringEquals, ...sessionTags.StringEquals },
        StringLikeIfExists: sessionTags.StringLikeIfExists,
        'ForAllValues:StringEquals': sessionTags['ForAllValues:StringEquals'],
      }),
    });
    this.role.assumeRolePolicy?.addStatements(
      new iam.PolicyStatement({
        actions: ['sts:SetSourceIdentity'],
        principals: [new iam.PrincipalWithConditions(broker, sourceIdentity)],
      }),
      new iam.PolicyStatement({
        actions: ['sts:TagSession'],
        principals: [new iam.PrincipalWithConditions(broker, sessionTags)],
      }),
    );

    const secrets = new Map<string, secretsmanager.ISecret>();
    for (const secret of props.profile.secrets) {
      secrets.set(
        secret.variable,
        secretsmanager.Secret.fromSecretNameV2(this, `Secret${secret.variable}`, secret.secretName),
      );
    }
    this.secrets = secrets;

    const statements = [
      new iam.PolicyStatement({
        sid: 'InvokeOwnExecutor',
        actions: ['lambda:InvokeFunction'],
        resources: [props.executor.functionArn],
      }),
    ];
    if (secrets.size > 0) {
      statements.push(
        new iam.PolicyStatement({
          sid: 'ReadOwnSecrets',
          actions: ['secretsmanager:GetSecretValue'],
          resources: [...secrets.values()].map((s) => secretArnPattern(this, s.secretName)),
        }),
        // Secrets under a customer-managed key: GetSecretValue makes Secrets Manager call
        // kms:Decrypt as this role. Only through Secrets Manager in this region, and only for the
        // profile's own secrets (Secrets Manager sets the secret's ARN as encryption context).
        // The key is the team's choice, so any key of the account; its key policy must allow the
        // account's IAM policies (the default key policy does) or this role.
        new iam.PolicyStatement({
          sid: 'DecryptOwnSecretsViaSecretsManager',
          actions: ['kms:Decrypt'],
          resources: [Stack.of(this).formatArn({ service: 'kms', resource: 'key', resourceName: '*' })],
          conditions: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` },
            ArnLike: {
              'kms:EncryptionContext:SecretARN': [...secrets.values()].map((s) =>
                secretArnPattern(this, s.secretName),
              ),
            },
          },
        }),
      );
    }
    // Session state (#15): the objects of the session this role session is tagged with, no other.
    statements.push(...props.sessions.executionRoleStatements());
    // #16: the profile's datasets (read, prefix-bound) and outputs (put only).
    statements.push(...datasetStatements(this, props.profile));
    this.boundary = new iam.ManagedPolicy(this, 'Boundary', {
      description: `custody: the most the execution role of profile ${props.profileName} may ever do`,
      statements,
    });
    iam.PermissionsBoundary.of(this.role).apply(this.boundary);
    for (const statement of statements) this.role.addToPrincipalPolicy(statement);
    for (const construct of [this.role, this.boundary]) props.sessions.acknowledgeOwnSessionPrefix(construct);
    acknowledgeDatasetWildcards([this.role, this.boundary], props.profile);
    if (secrets.size > 0) {
      const reason =
        'kms:Decrypt on any key of the account, but only via Secrets Manager in this region and ' +
        'only with the encryption context of this profile’s own secrets: the key is the team’s choice.';
      for (const construct of [this.role, this.boundary]) {
        Validations.of(construct).acknowledge({
          id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]`,
          reason,
        });
      }
    }
  }

  /**
   * Revocation: denies everything to sessions of this role issued before `instant` (what the IAM
   * console's "Revoke active sessions" does). Sessions last at most an hour, so this matters only
   * inside that hour; remove the statement once it has passed.
   */
  revokeSessionsIssuedBefore(instant: Date): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RevokeOlderSessions',
        effect: iam.Effect.DENY,
        actions: ['*'],
        resources: ['*'],
        conditions: { DateLessThan: { 'aws:TokenIssueTime': instant.toISOString() } },
      }),
    );
  }
}

/**
 * The IAM resource of a secret known by name: `name-??????`, for the six random characters
 * Secrets Manager appends (each `?` matches exactly one character, so no other secret's ARN
 * matches). `Secret.fromSecretNameV2(...).secretArn` omits them: a policy on it matches nothing.
 */
function secretArnPattern(scope: Construct, secretName: string): string {
  return Stack.of(scope).formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${secretName}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
