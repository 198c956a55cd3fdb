import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  executionRequestSchema as brokerRequestSchema,
  MAX_FILES,
  MAX_PURPOSE_CHARS,
  sessionExecutionRequestSchema,
  sessionStartRequestSchema,
} from '../../lambda/core/api-schema.ts';
import { LANGUAGES } from '../../lambda/core/types.ts';
import { apiResourcePolicy, STAGE_NAME, toModelSchema } from '../../lib/api.ts';
import {
  brokerFunction,
  examplePolicy,
  onlyResource,
  referencedId,
  resourcesOfType,
  type Synthesized,
  synthCustody,
} from './synth.ts';

describe('CustodyApi', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthCustody();
  });
  const modelNamed = (name: string) => {
    const found = resourcesOfType(s.json, 'AWS::ApiGateway::Model').filter(
      ([, m]) => m.Properties.Name === name,
    );
    expect(found).toHaveLength(1);
    return found[0] as (typeof found)[number];
  };

  it('routes the executions, profiles and sessions paths, all with AWS_IAM', () => {
    const paths = new Map<string, string>();
    for (const [id, r] of resourcesOfType(s.json, 'AWS::ApiGateway::Resource')) {
      const parent = r.Properties.ParentId as { Ref?: string };
      const parentPath = parent.Ref ? paths.get(parent.Ref) : '';
      paths.set(id, `${parentPath ?? '?'}/${r.Properties.PathPart as string}`);
    }
    // Resources may appear before their parents: resolve again until stable.
    for (let i = 0; i < 3; i++) {
      for (const [id, r] of resourcesOfType(s.json, 'AWS::ApiGateway::Resource')) {
        const parent = r.Properties.ParentId as { Ref?: string };
        const parentPath = parent.Ref ? paths.get(parent.Ref) : '';
        paths.set(id, `${parentPath ?? '?'}/${r.Properties.PathPart as string}`);
      }
    }
    const routes = resourcesOfType(s.json, 'AWS::ApiGateway::Method').map(([, m]) => {
      expect(m.Properties.AuthorizationType).toBe('AWS_IAM');
      return `${m.Properties.HttpMethod as string} ${paths.get(referencedId(m.Properties.ResourceId))}`;
    });
    expect(routes.sort()).toEqual([
      'DELETE /v1/sessions/{sessionId}',
      'GET /v1/executions/{id}',
      'GET /v1/profiles',
      'GET /v1/sessions',
      'GET /v1/sessions/{sessionId}',
      'POST /v1/executions',
      'POST /v1/sessions',
      'POST /v1/sessions/{sessionId}/executions',
    ]);
  });

  it('admits the policy accounts in its resource policy and denies every other principal', () => {
    const [, api] = onlyResource(s.json, 'AWS::ApiGateway::RestApi');
    const statements = (api.Properties.Policy as { Statement: Array<Record<string, unknown>> }).Statement;
    expect(statements).toHaveLength(2);
    const [allow, deny] = statements;
    expect(allow).toMatchObject({
      Sid: 'AllowConfiguredAccounts',
      Effect: 'Allow',
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
    });
    expect(JSON.stringify(allow?.Principal)).toContain(':iam::111122223333:root');
    expect(deny).toEqual({
      Sid: 'DenyEveryoneElse',
      Effect: 'Deny',
      Action: 'execute-api:Invoke',
      Resource: 'execute-api:/*',
      Principal: { AWS: '*' },
      Condition: { StringNotEquals: { 'aws:PrincipalAccount': ['111122223333'] } },
    });
  });

  it('denies outside both the accounts and the organisation when an organisation is configured', () => {
    const policy = examplePolicy();
    policy.api.allowedOrganizationId = 'o-abcdefghij';
    const statements = apiResourcePolicy(policy).toJSON().Statement as Array<Record<string, unknown>>;
    expect(statements.map((st) => st.Sid)).toEqual([
      'AllowConfiguredAccounts',
      'AllowConfiguredOrganization',
      'DenyEveryoneElse',
    ]);
    expect(statements[2]?.Condition).toEqual({
      StringNotEquals: { 'aws:PrincipalAccount': ['111122223333'], 'aws:PrincipalOrgID': 'o-abcdefghij' },
    });
  });

  it('refuses to synthesize an API that would admit no caller', () => {
    const policy = examplePolicy();
    policy.api.allowedAccounts = [];
    policy.principals = [];
    expect(() => apiResourcePolicy(policy)).toThrow(/admits no caller.*allowedAccounts/);
  });

  it('validates POST /v1/executions bodies against the execution request schema', () => {
    const [modelId, model] = modelNamed('ExecutionRequest');
    const schema = model.Properties.Schema as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { type: string; enum?: string[]; maxLength?: number }>;
    };
    expect(schema.required.sort()).toEqual(['code', 'language', 'profile']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.language?.enum).toEqual([...LANGUAGES]);
    expect(schema.properties.code?.maxLength).toBe(
      Math.max(...Object.values(examplePolicy().profiles).map((p) => p.maxCodeBytes)),
    );
    expect(schema.properties.timeoutMs?.type).toBe('integer');
    // The same fields as the broker's own validation: neither side refuses what the other accepts.
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(brokerRequestSchema.shape).sort());

    const posts = resourcesOfType(s.json, 'AWS::ApiGateway::Method').filter(
      ([, m]) =>
        (m.Properties.RequestModels as { 'application/json'?: unknown } | undefined)?.['application/json'],
    );
    const post = posts.find(([, m]) => JSON.stringify(m.Properties.RequestModels).includes(modelId))?.[1];
    expect(post?.Properties.HttpMethod).toBe('POST');
    if (!post) throw new Error('no method validates against ExecutionRequest');
    const validator = s.json.Resources[referencedId(post.Properties.RequestValidatorId)];
    expect(validator?.Properties).toMatchObject({ ValidateRequestBody: true });
  });

  it('validates the session routes against the broker’s own session schemas', () => {
    const fields = (name: string) =>
      Object.keys((modelNamed(name)[1].Properties.Schema as { properties: object }).properties).sort();
    expect(fields('SessionStartRequest')).toEqual(Object.keys(sessionStartRequestSchema.shape).sort());
    expect(fields('SessionExecutionRequest')).toEqual(
      Object.keys(sessionExecutionRequestSchema.shape).sort(),
    );
    expect(fields('SessionExecutionRequest')).not.toContain('profile');
    for (const name of ['SessionStartRequest', 'SessionExecutionRequest']) {
      const [id] = modelNamed(name);
      const users = resourcesOfType(s.json, 'AWS::ApiGateway::Method').filter(([, m]) =>
        JSON.stringify(m.Properties.RequestModels ?? {}).includes(id),
      );
      expect(users.map(([, m]) => m.Properties.HttpMethod)).toEqual(['POST']);
    }
  });

  it("projects the broker's request schema as JSON Schema draft 4, in the keywords a model takes", () => {
    const [, model] = modelNamed('ExecutionRequest');
    const schema = model.Properties.Schema as Record<string, unknown> & {
      properties: Record<string, Record<string, unknown>>;
    };
    expect(schema.$schema).toBe('http://json-schema.org/draft-04/schema#');
    expect(schema.properties.files).toMatchObject({
      type: 'object',
      maxProperties: MAX_FILES,
      // A file is text, or { base64 } for any bytes (#16).
      additionalProperties: {
        anyOf: [
          { type: 'string' },
          {
            type: 'object',
            properties: { base64: { type: 'string' } },
            required: ['base64'],
            additionalProperties: false,
          },
        ],
      },
    });
    expect(schema.properties.purpose).toMatchObject({ type: 'string', maxLength: MAX_PURPOSE_CHARS });
    expect(schema.properties.timeoutMs).toMatchObject({ minimum: 100, maximum: 300_000 });
    expect(schema.properties.profile).toMatchObject({ minLength: 1, maxLength: 64 });
    const keywords = new Set<string>();
    const walk = (node: Record<string, unknown>) => {
      for (const [key, value] of Object.entries(node)) {
        keywords.add(key);
        if (key === 'properties') {
          for (const child of Object.values(value as Record<string, Record<string, unknown>>)) walk(child);
        } else if (key === 'additionalProperties' && typeof value === 'object') {
          walk(value as Record<string, unknown>);
        } else if (key === 'anyOf') {
          for (const child of value as Record<string, unknown>[]) walk(child);
        }
      }
    };
    walk(schema);
    const draft4 = [
      '$schema',
      'title',
      'description',
      'type',
      'properties',
      'required',
      'additionalProperties',
      'minLength',
      'maxLength',
      'enum',
      'maxProperties',
      'minimum',
      'maximum',
      'anyOf',
    ];
    expect([...keywords].filter((k) => !draft4.includes(k))).toEqual([]);
  });

  it('leaves out of a model the keywords API Gateway does not take, not the properties named like them', () => {
    const model = toModelSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $defs: { x: { type: 'string' } },
      id: 'request',
      type: 'object',
      required: ['const'],
      properties: {
        const: { type: 'string', const: 'a', examples: ['a'], enum: ['a'] },
        id: { type: 'array', items: { type: 'integer', exclusiveMinimum: true, minimum: 0 } },
      },
    });
    expect(model).toEqual({
      type: 'object',
      required: ['const'],
      properties: {
        const: { type: 'string', enum: ['a'] },
        id: { type: 'array', items: { type: 'integer', exclusiveMinimum: true, minimum: 0 } },
      },
    });
  });

  it('gives every method a request validator', () => {
    const methods = resourcesOfType(s.json, 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThan(0);
    for (const [, m] of methods) {
      const validator = s.json.Resources[referencedId(m.Properties.RequestValidatorId)];
      expect(validator?.Type).toBe('AWS::ApiGateway::RequestValidator');
    }
  });

  it('throttles the stage, traces, logs JSON access lines and keeps data trace off', () => {
    const policy = examplePolicy();
    const [, stage] = onlyResource(s.json, 'AWS::ApiGateway::Stage');
    expect(stage.Properties).toMatchObject({
      StageName: STAGE_NAME,
      TracingEnabled: true,
      MethodSettings: [
        {
          HttpMethod: '*',
          ResourcePath: '/*',
          DataTraceEnabled: false,
          LoggingLevel: 'INFO',
          MetricsEnabled: true,
          ThrottlingRateLimit: policy.api.throttleRateLimit,
          ThrottlingBurstLimit: policy.api.throttleBurstLimit,
        },
      ],
    });
    const accessLog = stage.Properties.AccessLogSetting as { DestinationArn: unknown; Format: string };
    const record = JSON.parse(accessLog.Format) as Record<string, string>;
    expect(record).toMatchObject({
      requestId: '$context.requestId',
      callerArn: '$context.identity.userArn',
      sourceIp: '$context.identity.sourceIp',
      status: '$context.status',
    });
    const join = (accessLog.DestinationArn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const logGroup = s.json.Resources[referencedId(join.at(-1))];
    expect(logGroup?.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup?.Properties.RetentionInDays).toEqual(expect.any(Number));
  });

  it('takes throttling from the construct settings over the policy', () => {
    const { template } = synthCustody({ props: { throttle: { rateLimit: 3, burstLimit: 4 } } });
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 3, ThrottlingBurstLimit: 4 })],
    });
  });

  it('creates the API Gateway execution log group itself, with a retention, before the stage', () => {
    const [apiId] = onlyResource(s.json, 'AWS::ApiGateway::RestApi');
    const [logGroupId, logGroup] = resourcesOfType(s.json, 'AWS::Logs::LogGroup').find(([, g]) =>
      JSON.stringify(g.Properties.LogGroupName ?? '').includes('API-Gateway-Execution-Logs_'),
    )!;
    expect(logGroup.Properties.LogGroupName).toEqual({
      'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: apiId }, `/${STAGE_NAME}`]],
    });
    expect(logGroup.Properties.RetentionInDays).toEqual(expect.any(Number));
    const [, stage] = onlyResource(s.json, 'AWS::ApiGateway::Stage');
    expect([stage.DependsOn].flat()).toContain(logGroupId);
  });

  it('proxies every route to the broker', () => {
    const [brokerId] = brokerFunction(s.json);
    const methods = resourcesOfType(s.json, 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThan(0);
    for (const [, m] of methods) {
      const integration = m.Properties.Integration as { Type: string; Uri: unknown };
      expect(integration.Type).toBe('AWS_PROXY');
      expect(JSON.stringify(integration.Uri)).toContain(`"${brokerId}","Arn"`);
    }
  });
});
