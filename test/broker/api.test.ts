import { describe, expect, it } from 'vitest';
import { Metric } from '../../lambda/core/metrics.ts';
import { brokerFixture, callers, errorOf } from './fixture.ts';

describe('Routing', () => {
  it('answers 404 JSON for an unknown path', async () => {
    const res = await brokerFixture().api.handle({
      method: 'GET',
      path: '/admin',
      body: null,
      caller: callers.agent,
    });
    expect(res.statusCode).toBe(404);
    expect(errorOf(res).code).toBe('NOT_FOUND');
  });

  it('answers 405 with Allow for a wrong method', async () => {
    const res = await brokerFixture().api.handle({
      method: 'DELETE',
      path: '/v1/executions',
      body: null,
      caller: callers.agent,
    });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
  });
});

describe('Edge denials', () => {
  it('records a request refused at the edge as one denied event', async () => {
    const f = brokerFixture();
    await f.api.recordEdgeDenial({
      caller: { arn: '', sourceIp: '203.0.113.9' },
      reason: 'SIGNATURE_MISMATCH',
      message: 'The request signature does not match.',
      method: 'POST',
      path: '/v1/executions',
    });
    expect(f.store.records).toHaveLength(1);
    expect(f.store.records[0]).toMatchObject({
      event: 'denied',
      caller: { arn: 'anonymous', sourceIp: '203.0.113.9' },
      decision: { allowed: false, reason: 'SIGNATURE_MISMATCH' },
    });
    expect(f.log.records).toHaveLength(1);
    expect(f.metrics.total(Metric.Denials, { Reason: 'SIGNATURE_MISMATCH' })).toBe(1);
  });
});
