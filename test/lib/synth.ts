/**
 * Test helpers: synthesize the custody stack the way `cdk synth` does (the context of cdk.json,
 * the example policy) and find resources in the template by their properties, never by the
 * hashed logical ids.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, type Environment } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadPolicyFile, type Policy } from '../../lambda/core/policy.ts';
import type { CustodyConstructProps } from '../../lib/custody-construct.ts';
import { CustodyStack } from '../../lib/custody-stack.ts';

export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');
const EXAMPLE_POLICY_FILE = path.join(PROJECT_ROOT, 'custody.policy.json');

export function examplePolicy(): Policy {
  return loadPolicyFile(EXAMPLE_POLICY_FILE);
}

/** The feature flags and other context of cdk.json, so tests synthesize what `cdk synth` would. */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return { ...cdkJson.context };
}

export interface SynthOptions {
  readonly props?: Partial<CustodyConstructProps>;
  /** Run esbuild and the bundling hooks for real. @default false (fast: no asset bundling) */
  readonly bundle?: boolean;
  readonly env?: Environment;
  readonly outdir?: string;
}

export interface Synthesized {
  readonly app: App;
  readonly stack: CustodyStack;
  readonly template: Template;
  /** The raw template JSON. */
  readonly json: CfnTemplate;
}

export interface CfnResource {
  readonly Type: string;
  /** Always present in the resources these tests read (synth.ts fills in `{}` otherwise). */
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string | string[];
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
}

export function createApp(options: Pick<SynthOptions, 'bundle' | 'outdir'> = {}): App {
  return new App({
    outdir: options.outdir,
    context: {
      ...cdkJsonContext(),
      // An empty list means "bundle no stack": template tests skip esbuild entirely.
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
}

export function synthCustody(options: SynthOptions = {}): Synthesized {
  const app = createApp(options);
  const stack = new CustodyStack(app, 'Custody', {
    env: options.env,
    policy: examplePolicy(),
    ...options.props,
  });
  const template = Template.fromStack(stack);
  const json = template.toJSON() as { Resources: Record<string, { Properties?: Record<string, unknown> }> };
  for (const resource of Object.values(json.Resources)) resource.Properties ??= {};
  return { app, stack, template, json: json as unknown as CfnTemplate };
}

/** `[logicalId, resource]` of every resource of `type`. */
export function resourcesOfType(json: CfnTemplate, type: string): Array<[string, CfnResource]> {
  return Object.entries(json.Resources).filter(([, r]) => r.Type === type);
}

/** The one resource of `type` whose properties satisfy `predicate`; fails unless exactly one does. */
export function theResource(
  json: CfnTemplate,
  type: string,
  predicate: (properties: Record<string, unknown>) => boolean,
): [string, CfnResource] {
  const found = resourcesOfType(json, type).filter(([, r]) => predicate(r.Properties));
  if (found.length !== 1) {
    throw new Error(`expected exactly one ${type} matching, found ${found.length}`);
  }
  return found[0]!;
}

/** The one resource of `type` in the template; fails unless there is exactly one. */
export function onlyResource(json: CfnTemplate, type: string): [string, CfnResource] {
  return theResource(json, type, () => true);
}

/** The Lambda function whose Description is `description`. */
export function functionByDescription(json: CfnTemplate, description: string): [string, CfnResource] {
  return theResource(json, 'AWS::Lambda::Function', (p) => p.Description === description);
}

// The descriptions lib/ gives the custody functions and roles, stated here independently so a
// renamed description fails the tests rather than silently following along.

/** The broker function. */
export function brokerFunction(json: CfnTemplate): [string, CfnResource] {
  return functionByDescription(json, 'custody broker: identity, policy, STS, audit');
}

/** The executor function of `profile`. */
export function executorFunction(json: CfnTemplate, profile: string): [string, CfnResource] {
  return functionByDescription(json, `custody executor of profile ${profile}`);
}

/** The execution role of `profile` (the role the broker assumes for that profile's calls). */
export function executionRole(json: CfnTemplate, profile: string): [string, CfnResource] {
  return theResource(
    json,
    'AWS::IAM::Role',
    (p) => p.Description === `custody execution role of profile ${profile}`,
  );
}

/** The audit table (the one with a stream, which the session table has not). */
export function auditTable(json: CfnTemplate): [string, CfnResource] {
  return theResource(json, 'AWS::DynamoDB::Table', (p) => p.StreamSpecification !== undefined);
}

/** The session table (#15): the one with a time-to-live attribute. */
export function sessionTable(json: CfnTemplate): [string, CfnResource] {
  return theResource(json, 'AWS::DynamoDB::Table', (p) => p.TimeToLiveSpecification !== undefined);
}

/** The audit table's customer-managed key. */
export function auditKey(json: CfnTemplate): [string, CfnResource] {
  return theResource(
    json,
    'AWS::KMS::Key',
    (p) => p.Description === 'custody: encrypts the audit table and the audit log group',
  );
}

/** The session key (#15): encrypts session records and state, wraps each session's data key. */
export function sessionKey(json: CfnTemplate): [string, CfnResource] {
  return theResource(
    json,
    'AWS::KMS::Key',
    (p) => p.Description === 'custody: encrypts session records and state; wraps each session data key',
  );
}

/** The session state bucket: the one encrypted with a KMS key. */
export function sessionStateBucket(json: CfnTemplate): [string, CfnResource] {
  return theResource(json, 'AWS::S3::Bucket', (p) =>
    JSON.stringify(p.BucketEncryption ?? '').includes('"aws:kms"'),
  );
}

/**
 * The audit log group: named `/custody/<stack>/audit-<unique part of the stack id>` so that one
 * retained by a deleted stack never collides with the next stack of the same name.
 */
export function auditLogGroup(json: CfnTemplate): [string, CfnResource] {
  return theResource(json, 'AWS::Logs::LogGroup', (p) =>
    JSON.stringify(p.LogGroupName ?? '').includes('/custody/Custody/audit-'),
  );
}

/** The logical id a `{ "Fn::GetAtt": [id, attr] }` or `{ Ref: id }` points at. */
export function referencedId(value: unknown): string {
  if (value && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (typeof v.Ref === 'string') return v.Ref;
    const getAtt = v['Fn::GetAtt'];
    if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  }
  throw new Error(`not a Ref or Fn::GetAtt: ${JSON.stringify(value)}`);
}

/** The role (logical id and resource) a function runs as. */
export function roleOfFunction(json: CfnTemplate, fn: CfnResource): [string, CfnResource] {
  const id = referencedId(fn.Properties.Role);
  const role = json.Resources[id];
  if (!role) throw new Error(`role ${id} not in template`);
  return [id, role];
}

export interface PolicyStatementJson {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of the identity policies attached to a role (inline AWS::IAM::Policy and Policies). */
export function identityStatementsOfRole(json: CfnTemplate, roleId: string): PolicyStatementJson[] {
  const statements: PolicyStatementJson[] = [];
  const role = json.Resources[roleId];
  for (const inline of (role?.Properties.Policies as Array<{ PolicyDocument: { Statement: [] } }>) ?? []) {
    statements.push(...inline.PolicyDocument.Statement);
  }
  for (const [, policy] of resourcesOfType(json, 'AWS::IAM::Policy')) {
    const roles = (policy.Properties.Roles as unknown[]) ?? [];
    if (roles.some((r) => referencedId(r) === roleId)) {
      statements.push(
        ...((policy.Properties.PolicyDocument as { Statement: PolicyStatementJson[] } | undefined)
          ?.Statement ?? []),
      );
    }
  }
  return statements;
}

export function actionsOf(statement: PolicyStatementJson): string[] {
  const a = statement.Action;
  return a === undefined ? [] : Array.isArray(a) ? a : [a];
}

/** Every action any identity policy of the role allows. */
export function allowedActionsOfRole(json: CfnTemplate, roleId: string): string[] {
  return identityStatementsOfRole(json, roleId)
    .filter((s) => s.Effect === 'Allow')
    .flatMap(actionsOf)
    .sort();
}
