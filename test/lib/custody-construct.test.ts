import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import { CustodyStack } from '../../lib/custody-stack.ts';
import { CfnResolver, WORLD } from './cfn-resolve.ts';
import {
  type CfnTemplate,
  createApp,
  examplePolicy,
  identityStatementsOfRole,
  onlyResource,
  theResource,
} from './synth.ts';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

describe('CustodyConstruct.grantInvoke', () => {
  let json: CfnTemplate;
  let template: Template;
  let agentRoleId: string;
  let resolver: CfnResolver;
  let grant: iam.Grant;

  beforeAll(() => {
    const stack = new CustodyStack(createApp(), 'Custody', { policy: examplePolicy() });
    const agent = new iam.Role(stack, 'Agent', {
      assumedBy: new iam.AccountPrincipal(WORLD.account),
      description: 'an agent of the team',
    });
    grant = stack.custody.grantInvoke(agent);
    template = Template.fromStack(stack);
    json = template.toJSON() as CfnTemplate;
    for (const resource of Object.values(json.Resources))
      (resource as { Properties?: unknown }).Properties ??= {};
    [agentRoleId] = theResource(json, 'AWS::IAM::Role', (p) => p.Description === 'an agent of the team');
    resolver = new CfnResolver(json);
  });

  /** The stage's ARN prefix: `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/`. */
  function stageArn(): string {
    const [apiId] = onlyResource(json, 'AWS::ApiGateway::RestApi');
    const [, stage] = onlyResource(json, 'AWS::ApiGateway::Stage');
    return `arn:aws:execute-api:${WORLD.region}:${WORLD.account}:${apiId}/${String(stage.Properties.StageName)}/`;
  }

  async function decide(method: string, path: string, prefix = stageArn()): Promise<Decision> {
    const result = await runSimulation(
      {
        request: {
          principal: resolver.sessionArn(agentRoleId),
          action: 'execute-api:Invoke',
          resource: { resource: `${prefix}${method}/${path}`, accountId: WORLD.account },
          contextVariables: {},
        },
        identityPolicies: [
          {
            name: 'agent',
            policy: {
              Version: '2012-10-17',
              Statement: resolver.resolve(identityStatementsOfRole(json, agentRoleId)),
            },
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
      },
      {},
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors, null, 2));
    return result.overallResult as Decision;
  }

  it('adds execute-api:Invoke on each route of the API to the grantee’s policy, and nothing else', () => {
    expect(grant.success).toBe(true);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: agentRoleId }],
      PolicyDocument: {
        Statement: [{ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: Match.anyValue() }],
      },
    });
    const [statement] = identityStatementsOfRole(json, agentRoleId);
    expect((resolver.resolve(statement?.Resource) as string[]).sort()).toEqual(
      [
        'DELETE/v1/sessions/*',
        'GET/v1/executions/*',
        'GET/v1/profiles',
        'GET/v1/sessions',
        'GET/v1/sessions/*',
        'POST/v1/executions',
        'POST/v1/sessions',
        'POST/v1/sessions/*/executions',
      ].map((route) => `${stageArn()}${route}`),
    );
  });

  it('lets the grantee call every route of the API on its stage', async () => {
    expect(await decide('POST', 'v1/executions')).toBe('Allowed');
    expect(await decide('GET', 'v1/executions/01J00000000000000000000000')).toBe('Allowed');
    expect(await decide('GET', 'v1/profiles')).toBe('Allowed');
    expect(await decide('POST', 'v1/sessions')).toBe('Allowed');
    expect(await decide('GET', 'v1/sessions')).toBe('Allowed');
    expect(await decide('GET', 'v1/sessions/ses_01J00000000000000000000000')).toBe('Allowed');
    expect(await decide('DELETE', 'v1/sessions/ses_01J00000000000000000000000')).toBe('Allowed');
    expect(await decide('POST', 'v1/sessions/ses_01J00000000000000000000000/executions')).toBe('Allowed');
  });

  it('lets the grantee call nothing else: no other method, path, stage or API', async () => {
    expect(await decide('DELETE', 'v1/executions/01J00000000000000000000000')).toBe('ImplicitlyDenied');
    expect(await decide('POST', 'v1/profiles')).toBe('ImplicitlyDenied');
    expect(await decide('PUT', 'v1/sessions/ses_01J00000000000000000000000')).toBe('ImplicitlyDenied');
    expect(await decide('DELETE', 'v1/sessions')).toBe('ImplicitlyDenied');
    expect(await decide('GET', 'v1/other')).toBe('ImplicitlyDenied');
    const otherStage = stageArn().replace(/\/[^/]+\/$/, '/test/');
    expect(await decide('POST', 'v1/executions', otherStage)).toBe('ImplicitlyDenied');
    const otherApi = `arn:aws:execute-api:${WORLD.region}:${WORLD.account}:abcdef1234/prod/`;
    expect(await decide('POST', 'v1/executions', otherApi)).toBe('ImplicitlyDenied');
  });
});
