/**
 * The signed API: API Gateway REST API with AWS_IAM on every method, a resource policy that
 * admits only the configured accounts / organisation, a JSON-schema request validator, stage
 * throttling, JSON access logs, tracing on and data trace off.
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { z } from 'zod';
import {
  executionRequestSchema as requestSchema,
  sessionExecutionRequestSchema,
  sessionStartRequestSchema,
} from '../lambda/core/api-schema.ts';
import { allowedAccounts, type Policy } from '../lambda/core/policy.ts';

/** Stage name: the URL is `https://<id>.execute-api.<region>.amazonaws.com/prod/v1/...`. */
export const STAGE_NAME = 'prod';

/** API Gateway's default (and, without a quota increase, maximum) integration timeout. */
export const DEFAULT_INTEGRATION_TIMEOUT = Duration.seconds(29);

export interface CustodyApiThrottle {
  /** Steady-state requests per second across the stage. */
  readonly rateLimit: number;
  readonly burstLimit: number;
}

export interface CustodyApiProps {
  readonly policy: Policy;
  readonly broker: lambda.IFunction;
  readonly throttle: CustodyApiThrottle;
  readonly integrationTimeout: Duration;
  readonly logRetention: logs.RetentionDays;
  readonly logRemovalPolicy: RemovalPolicy;
  /** Retention policy of the account-wide API Gateway CloudWatch role. */
  readonly cloudWatchRoleRemovalPolicy: RemovalPolicy;
}

/**
 * The draft-4 keywords an API Gateway model may use (those of CDK's `JsonSchema`, `$schema` and
 * `$ref` aside); anything else zod emits (`$schema`, which CDK sets, `id`, `examples`, `const`) is
 * left out, which can only make the model accept more: the broker still checks every body.
 */
const MODEL_KEYWORDS = new Set(
  [
    'title description type enum format default',
    'multipleOf maximum exclusiveMaximum minimum exclusiveMinimum',
    'maxLength minLength pattern',
    'items additionalItems maxItems minItems uniqueItems',
    'maxProperties minProperties required properties additionalProperties patternProperties dependencies',
    'allOf anyOf oneOf not',
  ]
    .join(' ')
    .split(' '),
);
/** Keywords whose value maps names to schemas (the names are data, not keywords). */
const SCHEMA_MAPS = new Set(['properties', 'patternProperties', 'dependencies']);

/** A JSON Schema (draft 4) as CDK's `JsonSchema`: only the keywords API Gateway models take. */
export function toModelSchema(json: unknown): apigateway.JsonSchema {
  const schema = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(schema);
    if (typeof value !== 'object' || value === null) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      if (!MODEL_KEYWORDS.has(key)) continue;
      if (key === 'enum' || key === 'required' || key === 'default') out[key] = child;
      else if (SCHEMA_MAPS.has(key) && typeof child === 'object' && child !== null) {
        out[key] = Object.fromEntries(Object.entries(child).map(([name, s]) => [name, schema(s)]));
      } else out[key] = schema(child);
    }
    return out;
  };
  return schema(json) as apigateway.JsonSchema;
}

/**
 * The JSON schema API Gateway checks `POST /v1/executions` bodies against: the broker's own
 * request schema (`lambda/core/api-schema.ts`) as JSON Schema draft 4, so both check the same
 * fields and bounds. The broker stays the authority (file names, per-profile limits); this stops
 * malformed bodies before they cost an invocation.
 */
function executionRequestSchema(policy: Policy): apigateway.JsonSchema {
  const profiles = Object.values(policy.profiles);
  // Characters, not bytes: a bound the broker tightens to the profile's maxCodeBytes. (Not an
  // enum of the profiles: an unknown profile reaches the broker, which records the denial.)
  const maxCodeBytes = Math.max(1, ...profiles.map((p) => p.maxCodeBytes));
  const bounded = requestSchema.extend({ code: requestSchema.shape.code.max(maxCodeBytes) });
  const json = z.toJSONSchema(bounded, { target: 'draft-4', io: 'input' });
  return {
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title: 'ExecutionRequest',
    ...toModelSchema(json),
  };
}

/** The models of the session routes (#15): the same projection of the broker's own schemas. */
function sessionSchemas(policy: Policy): { start: apigateway.JsonSchema; run: apigateway.JsonSchema } {
  const maxCodeBytes = Math.max(1, ...Object.values(policy.profiles).map((p) => p.maxCodeBytes));
  const run = sessionExecutionRequestSchema.extend({
    code: sessionExecutionRequestSchema.shape.code.max(maxCodeBytes),
  });
  const model = (title: string, schema: z.ZodType): apigateway.JsonSchema => ({
    schema: apigateway.JsonSchemaVersion.DRAFT4,
    title,
    ...toModelSchema(z.toJSONSchema(schema, { target: 'draft-4', io: 'input' })),
  });
  return {
    start: model('SessionStartRequest', sessionStartRequestSchema),
    run: model('SessionExecutionRequest', run),
  };
}

/**
 * The resource policy: allow `execute-api:Invoke` to the policy's accounts (and organisation),
 * and deny it to everyone else, so an IAM policy in some other account can never open the API.
 */
export function apiResourcePolicy(policy: Policy): iam.PolicyDocument {
  const accounts = allowedAccounts(policy);
  const organizationId = policy.api.allowedOrganizationId;
  if (accounts.length === 0 && organizationId === undefined) {
    throw new Error(
      'The policy admits no caller: set api.allowedAccounts or api.allowedOrganizationId, or declare principals',
    );
  }
  const invoke = { actions: ['execute-api:Invoke'], resources: ['execute-api:/*'] };
  const statements: iam.PolicyStatement[] = [];
  if (accounts.length > 0) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowConfiguredAccounts',
        ...invoke,
        principals: accounts.map((a) => new iam.AccountPrincipal(a)),
      }),
    );
  }
  if (organizationId !== undefined) {
    statements.push(
      new iam.PolicyStatement({
        sid: 'AllowConfiguredOrganization',
        ...invoke,
        principals: [new iam.AnyPrincipal()],
        conditions: { StringEquals: { 'aws:PrincipalOrgID': organizationId } },
      }),
    );
  }
  // The keys of one condition operator are ANDed: deny unless in the accounts or in the org.
  const notAdmitted: Record<string, string | string[]> = {};
  if (accounts.length > 0) notAdmitted['aws:PrincipalAccount'] = accounts;
  if (organizationId !== undefined) notAdmitted['aws:PrincipalOrgID'] = organizationId;
  statements.push(
    new iam.PolicyStatement({
      sid: 'DenyEveryoneElse',
      effect: iam.Effect.DENY,
      ...invoke,
      principals: [new iam.AnyPrincipal()],
      conditions: { StringNotEquals: notAdmitted },
    }),
  );
  return new iam.PolicyDocument({ statements });
}

export class CustodyApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly accessLogGroup: logs.LogGroup;
  /** API Gateway's execution log group, created here so that it has a retention period. */
  readonly executionLogGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CustodyApiProps) {
    super(scope, id);

    this.accessLogGroup = new logs.LogGroup(this, 'AccessLogGroup', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });

    const f = apigateway.AccessLogField;
    const accessLogFormat = apigateway.AccessLogFormat.custom(
      JSON.stringify({
        requestId: f.contextRequestId(),
        extendedRequestId: f.contextExtendedRequestId(),
        requestTime: f.contextRequestTime(),
        httpMethod: f.contextHttpMethod(),
        resourcePath: f.contextResourcePath(),
        status: f.contextStatus(),
        responseLength: f.contextResponseLength(),
        responseLatencyMs: f.contextResponseLatency(),
        integrationLatencyMs: f.contextIntegrationLatency(),
        sourceIp: f.contextIdentitySourceIp(),
        userAgent: f.contextIdentityUserAgent(),
        callerAccountId: f.contextIdentityAccountId(),
        callerArn: f.contextIdentityUserArn(),
        caller: f.contextIdentityCaller(),
        accessKey: '$context.identity.accessKey',
        principalOrgId: f.contextIdentityPrincipalOrgId(),
        errorMessage: f.contextErrorMessageString(),
        validationError: f.contextErrorValidationErrorString(),
        xrayTraceId: f.contextXrayTraceId(),
      }),
    );

    this.api = new apigateway.RestApi(this, 'Api', {
      description: 'custody: identity-bound code execution',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      policy: apiResourcePolicy(props.policy),
      // Stage logging needs the account-level API Gateway CloudWatch role; keep it on delete,
      // other APIs in the account may rely on it.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: props.cloudWatchRoleRemovalPolicy,
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
      deployOptions: {
        stageName: STAGE_NAME,
        tracingEnabled: true,
        dataTraceEnabled: false,
        loggingLevel: apigateway.MethodLoggingLevel.INFO,
        metricsEnabled: true,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat,
      },
    });

    // The stack outputs the URL once, as ApiUrl; drop RestApi's own `Endpoint` output.
    this.api.node.tryRemoveChild('Endpoint');

    this.executionLogGroup = new logs.LogGroup(this, 'ExecutionLogGroup', {
      logGroupName: `API-Gateway-Execution-Logs_${this.api.restApiId}/${STAGE_NAME}`,
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy,
    });
    // Exists before the stage can log, so API Gateway never creates it without a retention.
    this.api.deploymentStage.node.addDependency(this.executionLogGroup);

    const integration = new apigateway.LambdaIntegration(props.broker, {
      proxy: true,
      timeout: props.integrationTimeout,
    });
    const bodyValidator = new apigateway.RequestValidator(this, 'BodyValidator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    const parameterValidator = new apigateway.RequestValidator(this, 'ParameterValidator', {
      restApi: this.api,
      validateRequestBody: false,
      validateRequestParameters: true,
    });
    const executionRequest = this.api.addModel('ExecutionRequest', {
      contentType: 'application/json',
      modelName: 'ExecutionRequest',
      schema: executionRequestSchema(props.policy),
    });

    const v1 = this.api.root.addResource('v1');
    const executions = v1.addResource('executions');
    const methods: apigateway.Method[] = [];
    methods.push(
      executions.addMethod('POST', integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: bodyValidator,
        requestModels: { 'application/json': executionRequest },
      }),
    );
    methods.push(
      executions.addResource('{id}').addMethod('GET', integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: parameterValidator,
        requestParameters: { 'method.request.path.id': true },
      }),
    );
    methods.push(
      v1.addResource('profiles').addMethod('GET', integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: parameterValidator,
      }),
    );

    // Sessions (#15): start and list; show and end one; run code in one.
    const schemas = sessionSchemas(props.policy);
    const sessionStart = this.api.addModel('SessionStartRequest', {
      contentType: 'application/json',
      modelName: 'SessionStartRequest',
      schema: schemas.start,
    });
    const sessionRun = this.api.addModel('SessionExecutionRequest', {
      contentType: 'application/json',
      modelName: 'SessionExecutionRequest',
      schema: schemas.run,
    });
    const sessions = v1.addResource('sessions');
    const oneSession = sessions.addResource('{sessionId}');
    const byId = {
      authorizationType: apigateway.AuthorizationType.IAM,
      requestValidator: parameterValidator,
      requestParameters: { 'method.request.path.sessionId': true },
    };
    methods.push(
      sessions.addMethod('POST', integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: bodyValidator,
        requestModels: { 'application/json': sessionStart },
      }),
      sessions.addMethod('GET', integration, {
        authorizationType: apigateway.AuthorizationType.IAM,
        requestValidator: parameterValidator,
      }),
      oneSession.addMethod('GET', integration, byId),
      oneSession.addMethod('DELETE', integration, byId),
      oneSession.addResource('executions').addMethod('POST', integration, {
        ...byId,
        requestValidator: bodyValidator,
        requestModels: { 'application/json': sessionRun },
      }),
    );

    for (const method of methods) {
      Validations.of(method).acknowledge({
        id: 'AwsSolutions::AwsSolutions-COG4',
        reason:
          'Callers are AI agents with IAM identities, not users: every method uses AWS_IAM (SigV4), ' +
          'which binds the call to the IAM principal the policy names.',
      });
    }
    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level role API Gateway needs to write access and execution logs; the ' +
          'managed policy is the documented one and only lets API Gateway write logs.',
      });
    }
    Validations.of(this.api.deploymentStage).acknowledge({
      id: 'AwsSolutions::AwsSolutions-APIG3',
      reason:
        'Every request is SigV4-signed and checked by IAM and a resource policy that admits only ' +
        'configured accounts, and the stage is throttled; a team can still associate a WAF web ACL ' +
        'with the stage ARN.',
    });
  }

  /** The stage's base URL (ends with `/`). */
  get url(): string {
    return this.api.url;
  }

  /** Full ARN pattern of the stage's methods, for callers' IAM policies. */
  arnForExecuteApi(): string {
    return this.api.arnForExecuteApi(undefined, undefined, STAGE_NAME);
  }
}
