/**
 * The environment variables a nodejs22.x function sees in Lambda (the reserved runtime variables
 * AWS documents, then the function's own from the template). HOME is not among them: Lambda does
 * not set it. The credentials are fake; the sandbox has no network to use them on anyway.
 */
import type { AssemblyFunction } from './cloud-assembly.ts';

export const EMULATED_REGION = 'eu-west-1';
export const EMULATED_ACCOUNT = '111122223333';

export function lambdaEnvironment(fn: AssemblyFunction, memoryMiB: number): Record<string, string> {
  const name = `Custody-${fn.logicalId}`;
  const reserved: Record<string, string> = {
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMiB),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]00000000000000000000000000000000',
    AWS_LAMBDA_RUNTIME_API: '127.0.0.1:9001',
    AWS_REGION: EMULATED_REGION,
    AWS_DEFAULT_REGION: EMULATED_REGION,
    AWS_ACCESS_KEY_ID: 'ASIAEMULATEDLAMBDA00',
    AWS_SECRET_ACCESS_KEY: 'emulated-lambda-environment-not-a-real-secret-key',
    AWS_SESSION_TOKEN: 'emulated-lambda-session-token',
    LAMBDA_TASK_ROOT: '/var/task',
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    PATH: '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin',
    LD_LIBRARY_PATH:
      '/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib',
    NODE_PATH:
      '/opt/nodejs/node22/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task',
  };
  if (fn.logFormat === 'JSON') {
    reserved.AWS_LAMBDA_LOG_FORMAT = 'JSON';
    reserved.AWS_LAMBDA_LOG_LEVEL = 'INFO';
  }
  if (fn.tracing === 'Active') {
    reserved._X_AMZN_TRACE_ID = 'Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=0';
    reserved.AWS_XRAY_CONTEXT_MISSING = 'LOG_ERROR';
    reserved.AWS_XRAY_DAEMON_ADDRESS = '169.254.79.129:2000';
  }
  return { ...fn.environment, ...reserved };
}

/** Node.js flags like those of the nodejs22.x bootstrap (heap scaled to the function's memory; approximate). */
export function lambdaNodeFlags(memoryMiB: number): string[] {
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-old-space-size=${Math.floor(memoryMiB * 0.9)}`,
  ];
}
