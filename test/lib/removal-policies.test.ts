/**
 * A failed first deploy, or a deploy after `cdk destroy`, can be retried: nothing the stack keeps
 * (a retained resource) has a name that the next create of the same stack would ask for again.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { tableRemovalPolicy } from '../../lib/audit.ts';
import { CfnResolver, WORLD_STACK_UUID } from './cfn-resolve.ts';
import { auditLogGroup, auditTable, type Synthesized, sessionTable, synthCustody } from './synth.ts';

/** Properties by which CloudFormation resources take a fixed physical name. */
const NAME_PROPERTIES = ['LogGroupName', 'TableName', 'AliasName', 'RoleName', 'QueueName', 'FunctionName'];

function retained(s: Synthesized) {
  return Object.entries(s.json.Resources).filter(
    ([, r]) => r.DeletionPolicy === 'Retain' || r.DeletionPolicy === 'RetainExceptOnCreate',
  );
}

describe('Removal policies', () => {
  const s = synthCustody();

  it('removes what a rolled-back create made, except the deletion-protected table and the account setting', () => {
    const kept = retained(s);
    expect(kept.length).toBeGreaterThan(0);
    // Always kept: the table (see below), and API Gateway's account-wide CloudWatch role and its
    // account setting, which other APIs of the account may rely on (both with generated names).
    const alwaysKept = ['AWS::DynamoDB::Table', 'AWS::ApiGateway::Account', 'AWS::IAM::Role'];
    for (const [id, r] of kept) {
      if (alwaysKept.includes(r.Type)) continue;
      expect(r.DeletionPolicy, `${id} (${r.Type})`).toBe('RetainExceptOnCreate');
      expect(r.UpdateReplacePolicy, `${id} (${r.Type})`).toBe('Retain');
    }
  });

  it('gives every retained resource a name no later create of the stack asks for again', () => {
    const resolver = new CfnResolver(s.json);
    for (const [id, r] of retained(s)) {
      for (const property of NAME_PROPERTIES) {
        const name = r.Properties[property];
        if (name === undefined) continue;
        // Either the name carries the stack id's unique part (new per stack incarnation) or
        // something else the create makes anew (the API id of the API Gateway execution logs).
        const resolved = String(resolver.resolve(name));
        const fresh = resolved.includes(WORLD_STACK_UUID) || JSON.stringify(name).includes('"Ref"');
        expect(fresh, `${id}.${property} = ${resolved}`).toBe(true);
        expect(JSON.stringify(name), `${id}.${property}`).not.toMatch(/^"[^"]*"$/);
      }
    }
    const [, group] = auditLogGroup(s.json);
    expect(String(resolver.resolve(group.Properties.LogGroupName))).toBe(
      `/custody/Custody/audit-${WORLD_STACK_UUID}`,
    );
  });

  it('keeps the deletion-protected tables (audit, sessions) on a rolled-back create (RETAIN), their names generated', () => {
    expect(tableRemovalPolicy(RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE)).toBe(RemovalPolicy.RETAIN);
    expect(tableRemovalPolicy(RemovalPolicy.DESTROY)).toBe(RemovalPolicy.DESTROY);
    for (const [, table] of [auditTable(s.json), sessionTable(s.json)]) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
      expect(table.Properties.TableName).toBeUndefined();
    }
  });

  it('honours an explicit RETAIN for teams that want rolled-back resources kept', () => {
    const { json } = synthCustody({
      props: { auditRemovalPolicy: RemovalPolicy.RETAIN, logRemovalPolicy: RemovalPolicy.RETAIN },
    });
    const groups = Object.values(json.Resources).filter((r) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups.every((g) => g.DeletionPolicy === 'Retain')).toBe(true);
  });
});
