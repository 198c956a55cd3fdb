/**
 * A DynamoDB client for local mode's dynalite (or any DynamoDB-compatible endpoint on this
 * machine): the one place that says how such a client is made. dynalite checks that a request is
 * signed but not with which key, so the credentials are fixed placeholders, never real ones.
 * The local server's own calls skip the socket and the signature (`embedded-dynamodb.ts`).
 */
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';

/** The placeholder credentials dynalite accepts. */
export const LOCAL_DYNAMODB_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

export interface LocalDynamoDbClientOptions {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  /** @default 'us-east-1' */
  readonly region?: string;
  /** Attempts per call, the first included. @default the SDK's (3) */
  readonly maxAttempts?: number;
}

export function localDynamoDbClient(options: LocalDynamoDbClientOptions): DynamoDBClient {
  const config: DynamoDBClientConfig = {
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    credentials: LOCAL_DYNAMODB_CREDENTIALS,
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
  };
  return new DynamoDBClient(config);
}
