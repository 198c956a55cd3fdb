import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import 'aws-sdk-client-mock-vitest/extend';
import { LambdaExecutor, MAX_INVOKE_PAYLOAD_BYTES } from '../../../lambda/adapters/aws/lambda-executor.ts';
import { DependencyError, PayloadTooLargeError, ThrottledError } from '../../../lambda/core/errors.ts';
import type { SandboxRequest } from '../../../lambda/core/types.ts';
import { sandboxResult } from '../../broker/fakes.ts';
import { assumedSession } from './session.ts';

const EXECUTOR = 'arn:aws:lambda:eu-west-1:111122223333:function:custody-executor-sandbox';
const session = assumedSession('sandbox');
const request: SandboxRequest = {
  executionId: '01HZX3K7R8M9N0P1Q2R3S4T5V6',
  language: 'python',
  code: 'print(2)',
  limits: { timeoutMs: 1000, memoryMiB: 512, maxOutputBytes: 1024 },
  env: { REPORT_API_TOKEN: 't' },
};
const payload = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)) as unknown as NonNullable<
    InvokeCommandOutput['Payload']
  >;

describe('LambdaExecutor', () => {
  const lambda = mockClient(LambdaClient);
  const executor = new LambdaExecutor({ region: 'eu-west-1', executors: { sandbox: EXECUTOR } });
  afterEach(() => lambda.reset());

  it('invokes the profile executor synchronously with the sandbox request, signed by the session', async () => {
    let signedWith: unknown;
    lambda.on(InvokeCommand).callsFake(async (_input, getClient) => {
      signedWith = await getClient().config.credentials();
      return { StatusCode: 200, Payload: payload(sandboxResult({ stdout: '2\n' })) };
    });
    const result = await executor.run(session, 'sandbox', request);
    expect(result).toEqual(sandboxResult({ stdout: '2\n' }));
    const sent = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(sent.FunctionName).toBe(EXECUTOR);
    expect(sent.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(Buffer.from(sent.Payload as Uint8Array).toString('utf8'))).toEqual(request);
    expect(signedWith).toMatchObject({
      accessKeyId: 'ASIASESSIONKEY000001',
      secretAccessKey: 'session-secret',
      sessionToken: 'session-token',
    });
  });

  it('sends binary files as base64 and reads binary files back from the answer (#16)', async () => {
    const bytes = new Uint8Array([0, 0xff, 0xfe, 0x80]);
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: payload({ ...sandboxResult(), files: { 'out.bin': { base64: 'AP/+gA==' }, 'o.txt': 'ok' } }),
    });
    const result = await executor.run(session, 'sandbox', {
      ...request,
      files: { 'in.bin': bytes, 't.txt': 'hi' },
    });
    const sent = lambda.commandCalls(InvokeCommand)[0]!.args[0].input;
    expect(JSON.parse(Buffer.from(sent.Payload as Uint8Array).toString('utf8')).files).toEqual({
      'in.bin': { base64: 'AP/+gA==' },
      't.txt': 'hi',
    });
    expect(result.files).toEqual({ 'out.bin': bytes, 'o.txt': 'ok' });
  });

  it('builds its client without SDK retries, so an invoke never runs twice', async () => {
    expect(await executor.clientFor(session).config.maxAttempts()).toBe(1);
  });

  it('refuses a request over the 6 MB payload limit before calling Lambda', async () => {
    const big = { ...request, code: 'x'.repeat(MAX_INVOKE_PAYLOAD_BYTES) };
    await expect(executor.run(session, 'sandbox', big)).rejects.toBeInstanceOf(PayloadTooLargeError);
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it('reports an executor function error as a 503 naming the error type', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({
        errorType: 'Runtime.ExitError',
        errorMessage: 'exit status 137',
        trace: ['at /var/task/x.js'],
      }),
    });
    const error = await executor.run(session, 'sandbox', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect(error).toMatchObject({ httpStatus: 503, dependency: 'executor' });
    expect((error as Error).message).toBe('The executor failed (Runtime.ExitError).');
  });

  it('reports an executor timeout clearly', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: payload({ errorType: 'Sandbox.Timedout', errorMessage: 'Task timed out after 15.02 seconds' }),
    });
    await expect(executor.run(session, 'sandbox', request)).rejects.toThrow(
      'The executor timed out before the sandbox answered.',
    );
  });

  it('reports a client-side timeout as the executor not answering', async () => {
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('aborted'), { name: 'AbortError' }));
    await expect(executor.run(session, 'sandbox', request)).rejects.toThrow(
      'The executor did not answer in time.',
    );
  });

  it('answers 429 when the executor is at its concurrency limit', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'TooManyRequestsException' }));
    await expect(executor.run(session, 'sandbox', request)).rejects.toBeInstanceOf(ThrottledError);
  });

  it('fails closed when the session may not invoke the executor', async () => {
    lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    await expect(executor.run(session, 'sandbox', request)).rejects.toMatchObject({
      dependency: 'executor',
      message: 'The executor could not be invoked (AccessDeniedException).',
    });
  });

  it.each([
    ['not JSON', 'Internal Server Error', 'not JSON'],
    ['an unknown status', { ...sandboxResult(), status: 'exploded' }, 'status'],
    ['a missing field', { status: 'succeeded', stdout: '' }, 'stderr'],
    ['a failure without its error', { ...sandboxResult(), status: 'failed' }, 'error'],
  ])('refuses a result that is %s', async (_label, body, problem) => {
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload(body) });
    const error = await executor.run(session, 'sandbox', request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyError);
    expect((error as Error).message).toContain(problem);
  });

  it('fails closed for a profile with no executor', async () => {
    await expect(executor.run(session, 'ghost', request)).rejects.toMatchObject({ dependency: 'executor' });
    expect(lambda).not.toHaveReceivedCommand(InvokeCommand);
  });
});
