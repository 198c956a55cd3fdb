/**
 * The schemas of the API's answers describe what the broker really answers: each body, parsed by
 * its schema, comes back unchanged (zod objects drop keys they do not know, so a field the broker
 * sends and the schema lacks fails here, as would a field of the wrong type).
 */
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  errorBodySchema,
  executionRequestSchema,
  executionResponseSchema,
  profilesResponseSchema,
} from '../../lambda/core/api-schema.ts';
import { sandboxResult } from '../broker/fakes.ts';
import { brokerFixture, callers, post } from '../broker/fixture.ts';

function expectDescribed(schema: z.ZodType, body: string) {
  const document = JSON.parse(body) as unknown;
  expect(schema.parse(document)).toEqual(document);
}

describe('the execution answer', () => {
  it('describes a success with a result and files written', async () => {
    const f = brokerFixture();
    f.executor.respond = () =>
      sandboxResult({ result: '42', files: { 'out.txt': 'x' }, stdoutTruncated: true } as never);
    const res = await f.api.handle(
      post(callers.agent, { profile: 'sandbox', language: 'python', code: 'x' }),
    );
    expect(res.statusCode).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ result: '42', files: { 'out.txt': 'x' }, truncated: true });
    expectDescribed(executionResponseSchema, res.body);
  });

  it("describes a failure of the user's code", async () => {
    const f = brokerFixture();
    f.executor.respond = () =>
      sandboxResult({ status: 'failed', error: { name: 'E', message: 'm', traceback: 't' } } as never);
    const res = await f.api.handle(
      post(callers.agent, { profile: 'sandbox', language: 'python', code: 'x' }),
    );
    expect(JSON.parse(res.body)).toMatchObject({ status: 'failed', error: { name: 'E' } });
    expectDescribed(executionResponseSchema, res.body);
  });
});

describe('the profiles answer', () => {
  it("describes the caller's profiles", async () => {
    const f = brokerFixture();
    const res = await f.api.handle({
      method: 'GET',
      path: '/v1/profiles',
      body: null,
      caller: callers.agent,
    });
    expect(res.statusCode).toBe(200);
    expect((JSON.parse(res.body) as { profiles: unknown[] }).profiles.length).toBeGreaterThan(0);
    expectDescribed(profilesResponseSchema, res.body);
  });
});

describe('the error body', () => {
  it.each([
    ['an invalid request', post(callers.agent, { profile: 'sandbox' }), 400],
    [
      'a caller with no grant',
      post(callers.stranger, { profile: 'sandbox', language: 'python', code: 'x' }),
      403,
    ],
    ['a route that does not exist', { method: 'GET', path: '/v2', body: null, caller: callers.agent }, 404],
    [
      'a method a route does not take',
      { method: 'PUT', path: '/v1/profiles', body: null, caller: callers.agent },
      405,
    ],
  ])('describes the answer to %s', async (_what, request, status) => {
    const f = brokerFixture();
    const res = await f.api.handle(request);
    expect(res.statusCode).toBe(status);
    expectDescribed(errorBodySchema, res.body);
  });
});

describe('the execution request', () => {
  it('parses input files into a map with no prototype', () => {
    const parsed = executionRequestSchema.parse(
      JSON.parse('{"profile":"p","language":"python","code":"x","files":{"__proto__":"a"}}'),
    );
    expect(Object.getPrototypeOf(parsed.files)).toBeNull();
    expect(Object.hasOwn(parsed.files ?? {}, '__proto__')).toBe(true);
  });
});
