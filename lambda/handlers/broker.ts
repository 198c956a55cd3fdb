/**
 * The broker Lambda: a thin API Gateway (REST, proxy integration, AWS_IAM auth) adapter over the
 * broker core. At cold start it reads its configuration and the policy once and builds the AWS
 * adapters; per request it maps `requestContext.identity` to the caller and calls `handle`.
 */
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { CloudWatchAuditLog } from '../adapters/aws/cloudwatch-audit-log.ts';
import { DynamoDbAuditStore } from '../adapters/aws/dynamodb-audit-store.ts';
import { DynamoDbRevocationStore } from '../adapters/aws/dynamodb-revocation-store.ts';
import { DynamoDbSessionStore } from '../adapters/aws/dynamodb-session-store.ts';
import { EmfMetrics } from '../adapters/aws/emf-metrics.ts';
import { LambdaExecutor } from '../adapters/aws/lambda-executor.ts';
import { S3Artifacts } from '../adapters/aws/s3-artifacts.ts';
import { S3Datasets } from '../adapters/aws/s3-datasets.ts';
import { SecretsManagerSecrets } from '../adapters/aws/secrets-manager-secrets.ts';
import { StsCredentials } from '../adapters/aws/sts-credentials.ts';
import { type ApiRequest, type BrokerApi, type CallerIdentity, createBrokerApi } from '../broker/api.ts';
import { loadPolicyFile } from '../core/policy.ts';
import { SWEEP_SESSIONS_EVENT } from '../core/session.ts';
import { type BrokerConfig, readBrokerConfig, sessionAdapters } from './broker-config.ts';

/** Maps API Gateway's view of the signed caller to the broker's. */
export function callerFromEvent(event: APIGatewayProxyEvent): CallerIdentity {
  const identity = event.requestContext?.identity;
  const caller: CallerIdentity = { arn: identity?.userArn ?? '' };
  if (identity?.accountId) caller.accountId = identity.accountId;
  if (identity?.accessKey) caller.accessKeyId = identity.accessKey;
  if (identity?.sourceIp) caller.sourceIp = identity.sourceIp;
  if (identity?.userAgent) caller.userAgent = identity.userAgent;
  return caller;
}

export function requestFromEvent(event: APIGatewayProxyEvent): ApiRequest {
  const body =
    event.body === null || event.body === undefined
      ? null
      : event.isBase64Encoded
        ? Buffer.from(event.body, 'base64').toString('utf8')
        : event.body;
  return {
    method: event.httpMethod,
    path: event.path,
    body,
    caller: callerFromEvent(event),
    ...(event.requestContext?.requestId ? { requestId: event.requestContext.requestId } : {}),
  };
}

/** The AWS wiring of the broker core. */
export function buildAwsBroker(config: BrokerConfig): BrokerApi {
  const policy = loadPolicyFile(config.policyFile);
  const executors: Record<string, string> = {};
  for (const [name, profile] of Object.entries(config.deployment.profiles))
    executors[name] = profile.executorArn;
  const dynamo = new DynamoDBClient({ region: config.region });
  return createBrokerApi({
    policy,
    deployment: config.deployment,
    credentials: new StsCredentials({ region: config.region }),
    secrets: new SecretsManagerSecrets({ region: config.region }),
    datasets: new S3Datasets({ region: config.region }),
    artifacts: new S3Artifacts({ region: config.region }),
    executor: new LambdaExecutor({ region: config.region, executors }),
    auditStore: new DynamoDbAuditStore({ client: dynamo, tableName: config.auditTable }),
    // The kill switch's state lives in the audit table; read (consistently) on every request.
    revocations: new DynamoDbRevocationStore({ client: dynamo, tableName: config.auditTable }),
    auditLog: new CloudWatchAuditLog({
      client: new CloudWatchLogsClient({ region: config.region }),
      logGroupName: config.auditLogGroup,
    }),
    ...(config.sessions
      ? {
          sessions: {
            store: new DynamoDbSessionStore(dynamo, config.sessions.table),
            ...sessionAdapters(config.sessions),
          },
        }
      : {}),
    origin: 'aws',
    // DynamoDbAuditStore retries itself; the broker puts each record once (broker/audit-trail.ts).
    metrics: new EmfMetrics(),
  });
}

const MISCONFIGURED: APIGatewayProxyResult = {
  statusCode: 503,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body: JSON.stringify({
    error: { code: 'DEPENDENCY_UNAVAILABLE', message: 'The broker is misconfigured; nothing was run.' },
  }),
};

type SweepEvent = typeof SWEEP_SESSIONS_EVENT;

/** The schedule's sweep event: exactly its one field, never an API Gateway request. */
function isSweep(event: APIGatewayProxyEvent | SweepEvent): event is SweepEvent {
  const keys = Object.keys(event);
  return (
    keys.length === 1 && (event as { custodyTask?: unknown }).custodyTask === SWEEP_SESSIONS_EVENT.custodyTask
  );
}

/**
 * A handler over a broker built once, on first use. A broker that cannot be built (bad
 * configuration or policy) is logged with the reason and every request is refused with 503.
 */
export function createHandler(build: () => BrokerApi) {
  let api: BrokerApi | undefined;
  let failure: Error | undefined;
  return async (event: APIGatewayProxyEvent | SweepEvent): Promise<APIGatewayProxyResult> => {
    if (!api && !failure) {
      try {
        api = build();
      } catch (error) {
        failure = error instanceof Error ? error : new Error(String(error));
        console.error(
          JSON.stringify({ level: 'ERROR', message: 'custody broker not started', reason: failure.message }),
        );
      }
    }
    if (!api) return MISCONFIGURED;
    if (isSweep(event)) {
      // The schedule (only EventBridge and API Gateway may invoke the broker): end what is over.
      const { ended } = await api.sweepSessions();
      return { statusCode: 200, headers: {}, body: JSON.stringify({ ended }) };
    }
    const res = await api.handle(requestFromEvent(event));
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  };
}

export const handler = createHandler(() => buildAwsBroker(readBrokerConfig(process.env)));
