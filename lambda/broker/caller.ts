/** The caller of one request, as the edge (API Gateway, or the local server) authenticated it. */
export interface CallerIdentity {
  /** The ARN the request was signed by (API Gateway `requestContext.identity.userArn`). */
  arn: string;
  accountId?: string;
  accessKeyId?: string;
  sourceIp?: string;
  userAgent?: string;
}
