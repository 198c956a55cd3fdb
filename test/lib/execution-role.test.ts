import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, describe, expect, it } from 'vitest';
import { readStackOutputs } from '../../lambda/adapters/aws/stack-outputs.ts';
import { AUDIT_LOG_GROUP_OUTPUT, roleNameOutputKey } from '../../lambda/core/stack-outputs.ts';
import { NO_GRANTED_PRINCIPAL, SESSION_TAG_KEYS } from '../../lib/execution-role.ts';
import {
  actionsOf,
  allowedActionsOfRole,
  auditLogGroup,
  brokerFunction,
  type CfnResource,
  examplePolicy,
  executionRole,
  executorFunction,
  identityStatementsOfRole,
  type PolicyStatementJson,
  referencedId,
  roleOfFunction,
  type Synthesized,
  synthCustody,
} from './synth.ts';

const policy = examplePolicy();

function trustStatements(role: CfnResource): PolicyStatementJson[] {
  return (role.Properties.AssumeRolePolicyDocument as { Statement: PolicyStatementJson[] }).Statement;
}

describe('ExecutionRole', () => {
  let s: Synthesized;
  let brokerRoleId: string;
  beforeAll(() => {
    s = synthCustody();
    const [, broker] = brokerFunction(s.json);
    [brokerRoleId] = roleOfFunction(s.json, broker);
  });

  it('exists once per profile with a one-hour maximum session', () => {
    for (const name of Object.keys(policy.profiles)) {
      const [, role] = executionRole(s.json, name);
      expect(role.Properties.MaxSessionDuration).toBe(3600);
    }
  });

  it('trusts only the broker role, for AssumeRole, SetSourceIdentity and TagSession', () => {
    for (const name of Object.keys(policy.profiles)) {
      const [, role] = executionRole(s.json, name);
      const statements = trustStatements(role);
      expect(statements.every((st) => st.Effect === 'Allow')).toBe(true);
      expect(statements.flatMap(actionsOf).sort()).toEqual([
        'sts:AssumeRole',
        'sts:SetSourceIdentity',
        'sts:TagSession',
      ]);
      for (const st of statements) {
        expect(st.Principal).toEqual({ AWS: { 'Fn::GetAtt': [brokerRoleId, 'Arn'] } });
      }
    }
  });

  it('requires a source identity of a granted principal and the three session tags, admitting only a session id besides', () => {
    const [, role] = executionRole(s.json, 'sandbox');
    const byAction = new Map(trustStatements(role).map((st) => [actionsOf(st).join(), st.Condition]));
    const sourceIdentity = {
      Null: { 'sts:SourceIdentity': 'false' },
      StringEquals: { 'sts:SourceIdentity': ['agent'] },
    };
    const tags = {
      Null: {
        [`aws:RequestTag/${SESSION_TAG_KEYS.caller}`]: 'false',
        [`aws:RequestTag/${SESSION_TAG_KEYS.executionId}`]: 'false',
        [`aws:RequestTag/${SESSION_TAG_KEYS.profile}`]: 'false',
      },
      StringEquals: { [`aws:RequestTag/${SESSION_TAG_KEYS.profile}`]: 'sandbox' },
      // A session's call (#15) also carries its session id, and nothing but a session id there.
      StringLikeIfExists: { 'aws:RequestTag/custody:session-id': 'ses_*' },
      'ForAllValues:StringEquals': {
        'aws:TagKeys': ['custody:caller', 'custody:execution-id', 'custody:profile', 'custody:session-id'],
      },
    };
    expect(byAction.get('sts:AssumeRole')).toEqual({
      Null: { ...sourceIdentity.Null, ...tags.Null },
      StringEquals: { ...sourceIdentity.StringEquals, ...tags.StringEquals },
      StringLikeIfExists: tags.StringLikeIfExists,
      'ForAllValues:StringEquals': tags['ForAllValues:StringEquals'],
    });
    expect(byAction.get('sts:SetSourceIdentity')).toEqual(sourceIdentity);
    expect(byAction.get('sts:TagSession')).toEqual(tags);
  });

  it('admits no source identity at all when nobody holds a grant on the profile', () => {
    const noGrants = examplePolicy();
    for (const p of noGrants.principals) p.grants = p.grants.filter((g) => g.profile !== 'remediation');
    const { json } = synthCustody({ props: { policy: noGrants } });
    const [, role] = executionRole(json, 'remediation');
    const identityChecks = trustStatements(role).filter(
      (st) => st.Condition?.StringEquals?.['sts:SourceIdentity'],
    );
    expect(identityChecks).toHaveLength(2);
    for (const st of identityChecks) {
      expect(st.Condition?.StringEquals?.['sts:SourceIdentity']).toEqual([NO_GRANTED_PRINCIPAL]);
    }
    // STS allows only [\w+=,.@-] in a SourceIdentity, so the placeholder can never match.
    expect(NO_GRANTED_PRINCIPAL).not.toMatch(/^[\w+=,.@-]+$/);
  });

  it('may invoke only its own executor, read only its own secrets, and touch only its session’s state', () => {
    for (const [name, profile] of Object.entries(policy.profiles)) {
      const [roleId] = executionRole(s.json, name);
      const [executorId] = executorFunction(s.json, name);
      const statements = identityStatementsOfRole(s.json, roleId);
      // Session state (#15): its own session's objects only (test/lib/sessions.test.ts).
      const session = ['kms:Decrypt', 'kms:GenerateDataKey', 's3:GetObject', 's3:PutObject'];
      const expected =
        profile.secrets.length > 0
          ? ['kms:Decrypt', 'lambda:InvokeFunction', 'secretsmanager:GetSecretValue', ...session]
          : ['lambda:InvokeFunction', ...session];
      // #16: datasets and outputs add their S3 actions (test/lib/dataset-grants.test.ts).
      const s3 = [
        ...(Object.keys(profile.datasets).length > 0 ? ['s3:GetObject', 's3:ListBucket'] : []),
        ...(profile.outputs ? ['s3:PutObject'] : []),
      ];
      expect(allowedActionsOfRole(s.json, roleId)).toEqual([...expected, ...s3].sort());
      const invoke = statements.find((st) => actionsOf(st).includes('lambda:InvokeFunction'));
      expect(invoke?.Resource).toEqual({ 'Fn::GetAtt': [executorId, 'Arn'] });
      const read = statements.find((st) => actionsOf(st).includes('secretsmanager:GetSecretValue'));
      if (profile.secrets.length === 0) {
        expect(read).toBeUndefined();
        continue;
      }
      const resources = JSON.stringify(read?.Resource);
      for (const secret of profile.secrets)
        expect(resources).toContain(`:secret:${secret.secretName}-??????`);
      expect([read?.Resource].flat()).toHaveLength(profile.secrets.length);
      // A secret under a customer-managed key: Decrypt only via Secrets Manager, only its secrets.
      const decrypt = statements.find((st) => actionsOf(st).includes('kms:Decrypt'));
      expect(Object.keys(decrypt?.Condition ?? {}).sort()).toEqual(['ArnLike', 'StringEquals']);
      expect(JSON.stringify(decrypt?.Condition?.StringEquals)).toContain('"kms:ViaService":');
      expect(JSON.stringify(decrypt?.Condition?.ArnLike)).toBe(
        JSON.stringify({ 'kms:EncryptionContext:SecretARN': [read?.Resource].flat() }),
      );
    }
  });

  it('is capped by a permissions boundary that allows nothing beyond its own policy', () => {
    for (const name of Object.keys(policy.profiles)) {
      const [roleId, role] = executionRole(s.json, name);
      const boundary = s.json.Resources[referencedId(role.Properties.PermissionsBoundary)]!;
      expect(boundary.Type).toBe('AWS::IAM::ManagedPolicy');
      const boundaryStatements = (boundary.Properties.PolicyDocument as { Statement: PolicyStatementJson[] })
        .Statement;
      const normalize = (sts: PolicyStatementJson[]) =>
        sts.map((st) => ({ Effect: st.Effect, Action: actionsOf(st).sort(), Resource: st.Resource }));
      expect(normalize(boundaryStatements)).toEqual(normalize(identityStatementsOfRole(s.json, roleId)));
    }
  });

  it('outputs its role name where custody revoke finds it', async () => {
    const outputs = (s.json.Outputs ?? {}) as Record<string, { Value: unknown }>;
    for (const name of Object.keys(policy.profiles)) {
      const [roleId] = executionRole(s.json, name);
      expect(outputs[roleNameOutputKey(name)]?.Value).toEqual({ Ref: roleId });
    }
    // custody revoke --stack writes the action's audit line to the stack's audit log group,
    // whose name it reads from the output.
    const [auditLogGroupId] = auditLogGroup(s.json);
    expect(outputs[AUDIT_LOG_GROUP_OUTPUT]?.Value).toEqual({ Ref: auditLogGroupId });
    // The CLI's reader, fed the synthesized outputs as CloudFormation would return them, without
    // their descriptions: it reads keys.
    const cfn = mockClient(CloudFormationClient);
    cfn.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: 'Custody',
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: Object.keys(outputs).map((key) => ({ OutputKey: key, OutputValue: `value-of-${key}` })),
        },
      ],
    });
    try {
      const read = await readStackOutputs(new CloudFormationClient({ region: 'eu-west-1' }), 'Custody');
      expect(read.auditTableName).toBe('value-of-AuditTableName');
      // custody audit verify --stack: the signing key and the log group of the digest anchors.
      expect(read.auditSigningKeyArn).toBe('value-of-AuditSigningKeyArn');
      expect(read.auditLogGroupName).toBe('value-of-AuditLogGroupName');
      expect(read.roleNames).toEqual(
        Object.fromEntries(
          Object.keys(policy.profiles).map((name) => [name, `value-of-${roleNameOutputKey(name)}`]),
        ),
      );
    } finally {
      cfn.restore();
    }
  });
});
