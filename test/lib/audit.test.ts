import { beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_TABLE } from '../../lambda/core/audit-table.ts';
import { CfnResolver, WORLD, WORLD_STACK_UUID } from './cfn-resolve.ts';
import {
  actionsOf,
  allowedActionsOfRole,
  auditKey,
  auditLogGroup,
  auditTable,
  type CfnResource,
  functionByDescription,
  identityStatementsOfRole,
  onlyResource,
  referencedId,
  resourcesOfType,
  roleOfFunction,
  type Synthesized,
  synthCustody,
  theResource,
} from './synth.ts';

const DIGESTER = 'custody: seals new audit records into signed digests';

describe('CustodyAudit', () => {
  let s: Synthesized;
  let table: [string, CfnResource];
  let auditKeyId: string;
  beforeAll(() => {
    s = synthCustody();
    table = auditTable(s.json);
    [auditKeyId] = auditKey(s.json);
  });

  it('keeps the table: on-demand, point-in-time recovery, deletion protection, retained, streamed', () => {
    const [, t] = table;
    // Plain Retain, not RetainExceptOnCreate: deletion protection would refuse the rollback's
    // delete. The name is generated, so a table kept by a rolled-back create never blocks a retry.
    expect(t.DeletionPolicy).toBe('Retain');
    expect(t.Properties.TableName).toBeUndefined();
    expect(t.UpdateReplacePolicy).toBe('Retain');
    expect(t.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
  });

  it('encrypts the table with the customer-managed audit key, which rotates and is retained', () => {
    const [, t] = table;
    expect(t.Properties.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: { 'Fn::GetAtt': [auditKeyId, 'Arn'] },
    });
    const key = s.json.Resources[auditKeyId]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(key.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(key.UpdateReplacePolicy).toBe('Retain');
  });

  it('has the key schema and indexes the local store uses', () => {
    const [, t] = table;
    expect(t.Properties.KeySchema).toEqual([
      { AttributeName: AUDIT_TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: AUDIT_TABLE.sortKey, KeyType: 'RANGE' },
    ]);
    const indexes = t.Properties.GlobalSecondaryIndexes as Array<Record<string, unknown>>;
    expect(indexes).toEqual(
      [AUDIT_TABLE.byTimeIndex, AUDIT_TABLE.byCallerIndex].map((index) => ({
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      })),
    );
  });

  it('encrypts the audit log group with the audit key, keeps it ten years, masks credentials', () => {
    const [, group] = auditLogGroup(s.json);
    expect(group.DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(group.UpdateReplacePolicy).toBe('Retain');
    expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [auditKeyId, 'Arn'] });
    expect(group.Properties.RetentionInDays).toBe(3653);
    const policy = group.Properties.DataProtectionPolicy as {
      Statement: Array<{ DataIdentifier: unknown[]; Operation: Record<string, unknown> }>;
    };
    const identifiers = JSON.stringify(policy.Statement.map((st) => st.DataIdentifier));
    expect(identifiers).toContain('AwsSecretKey');
    expect(identifiers).toContain('AwsAccessKeyId');
    expect(policy.Statement.some((st) => 'Deidentify' in st.Operation)).toBe(true);
  });

  it('lets CloudWatch Logs use the audit key only for the audit log group', () => {
    const key = s.json.Resources[auditKeyId]!;
    const statements = (key.Properties.KeyPolicy as { Statement: Array<Record<string, unknown>> }).Statement;
    const logs = statements.find((st) => st.Sid === 'CloudWatchLogsEncryptsTheAuditLogGroup');
    const resolver = new CfnResolver(s.json);
    const [groupId, group] = auditLogGroup(s.json);
    // The key policy names the group's exact ARN (without the `:*` of its streams).
    expect(resolver.resolve(logs?.Condition)).toEqual({
      ArnEquals: {
        'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${WORLD.region}:${WORLD.account}:log-group:${resolver.ref(groupId)}`,
      },
    });
    expect(resolver.resolve(group.Properties.LogGroupName)).toBe(
      `/custody/Custody/audit-${WORLD_STACK_UUID}`,
    );
  });

  it('honours a configured audit log retention', () => {
    const { json } = synthCustody({ props: { auditLogRetention: 2557 } });
    const [, group] = auditLogGroup(json);
    expect(group.Properties.RetentionInDays).toBe(2557);
  });

  it('has an ECC P-256 signing key for digests, retained', () => {
    const [, key] = theResource(s.json, 'AWS::KMS::Key', (p) => p.KeySpec !== undefined);
    expect(key.Properties).toMatchObject({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
    expect(key.DeletionPolicy).toBe('RetainExceptOnCreate');
  });

  it('runs the digester every five minutes, with failures kept in a queue', () => {
    const [digesterId, digester] = functionByDescription(s.json, DIGESTER);
    const [, rule] = theResource(s.json, 'AWS::Events::Rule', (p) =>
      String(p.Description).includes('seal new audit records'),
    );
    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    const [target] = rule.Properties.Targets as Array<{ Arn: unknown; DeadLetterConfig: { Arn: unknown } }>;
    expect(referencedId(target?.Arn)).toBe(digesterId);
    const [queueId] = onlyResource(s.json, 'AWS::SQS::Queue');
    expect(referencedId(target?.DeadLetterConfig.Arn)).toBe(queueId);
    const [, invokeConfig] = onlyResource(s.json, 'AWS::Lambda::EventInvokeConfig');
    expect(JSON.stringify(invokeConfig.Properties.DestinationConfig)).toContain(queueId);
    // Serial through a lease item in the table, not reserved concurrency: a new account's
    // 10 concurrent executions are all "unreserved minimum", so reserving 1 fails the deploy.
    expect(digester.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  it('tells the digester the table, the log group and the signing key', () => {
    const [, digester] = functionByDescription(s.json, DIGESTER);
    const [signingKeyId] = theResource(s.json, 'AWS::KMS::Key', (p) => p.KeySpec !== undefined);
    const [logGroupId] = auditLogGroup(s.json);
    expect((digester.Properties.Environment as { Variables: unknown }).Variables).toMatchObject({
      CUSTODY_AUDIT_TABLE: { Ref: table[0] },
      CUSTODY_AUDIT_LOG_GROUP: { Ref: logGroupId },
      CUSTODY_AUDIT_SIGNING_KEY_ID: { Ref: signingKeyId },
    });
  });

  it('lets the digester read and append to the trail and sign, and nothing else', () => {
    const [, digester] = functionByDescription(s.json, DIGESTER);
    const [roleId] = roleOfFunction(s.json, digester);
    const actions = allowedActionsOfRole(s.json, roleId);
    expect(actions.filter((a) => a.startsWith('dynamodb:'))).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
    ]);
    expect(actions).not.toContain('dynamodb:DeleteItem');
    expect(actions).not.toContain('dynamodb:UpdateItem');
    const [signingKeyId] = theResource(s.json, 'AWS::KMS::Key', (p) => p.KeySpec !== undefined);
    const sign = identityStatementsOfRole(s.json, roleId).find((st) => actionsOf(st).includes('kms:Sign'));
    expect(actionsOf(sign!).sort()).toEqual(['kms:GetPublicKey', 'kms:Sign']);
    expect(referencedId(sign?.Resource)).toBe(signingKeyId);
  });

  it('lets the digester read the audit log group (reconciliation) with FilterLogEvents alone, there alone', () => {
    const [, digester] = functionByDescription(s.json, DIGESTER);
    const [roleId] = roleOfFunction(s.json, digester);
    const [groupId] = auditLogGroup(s.json);
    const reads = identityStatementsOfRole(s.json, roleId).filter((st) =>
      actionsOf(st).includes('logs:FilterLogEvents'),
    );
    expect(reads).toHaveLength(1);
    expect(actionsOf(reads[0]!)).toEqual(['logs:FilterLogEvents']);
    const resolver = new CfnResolver(s.json);
    const group = resolver.getAtt(groupId, 'Arn');
    expect((resolver.resolve(reads[0]!.Resource) as string[]).sort()).toEqual(
      [group, group.replace(/:\*$/, '')].sort(),
    );
    expect(allowedActionsOfRole(s.json, roleId)).not.toContain('logs:GetLogEvents');
  });

  it('names the table indexes in grants instead of index/*', () => {
    const documents = resourcesOfType(s.json, 'AWS::IAM::Policy').map(([, policy]) =>
      JSON.stringify(policy.Properties.PolicyDocument),
    );
    for (const document of documents) expect(document).not.toContain('/index/*');
    // The grants exist and name each index: no grant at all would also contain no index/*.
    for (const index of [AUDIT_TABLE.byTimeIndex, AUDIT_TABLE.byCallerIndex]) {
      expect(
        documents.filter((d) => d.includes(`"/index/${index.name}"`)).length,
        index.name,
      ).toBeGreaterThan(0);
    }
  });

  it('reserves no concurrency anywhere by default, so the stack deploys in a new account', () => {
    for (const [id, fn] of resourcesOfType(s.json, 'AWS::Lambda::Function')) {
      expect(fn.Properties.ReservedConcurrentExecutions, id).toBeUndefined();
    }
  });
});
