import { describe, expect, it } from 'vitest';
import { localConfigFromEnv } from '../../../lambda/adapters/local/config.ts';

describe('Local mode configuration', () => {
  it('defaults to loopback port 8787, us-east-1 and the example policy', () => {
    expect(localConfigFromEnv({})).toEqual({
      port: 8787,
      host: '127.0.0.1',
      region: 'us-east-1',
      policyFile: 'custody.policy.json',
    });
  });

  it('reads every variable', () => {
    expect(
      localConfigFromEnv({
        CUSTODY_PORT: '0',
        CUSTODY_HOST: '0.0.0.0',
        CUSTODY_REGION: 'eu-west-1',
        CUSTODY_POLICY: 'p.json',
        CUSTODY_HOME: '/tmp/x',
      }),
    ).toEqual({ port: 0, host: '0.0.0.0', region: 'eu-west-1', policyFile: 'p.json', home: '/tmp/x' });
  });

  it.each([['eighty'], ['65536'], ['-1'], ['80.5']])(
    'refuses CUSTODY_PORT=%s, naming the variable',
    (port) => {
      expect(() => localConfigFromEnv({ CUSTODY_PORT: port })).toThrow(/^CUSTODY_PORT must be a port number/);
    },
  );

  it('refuses a region that is not a region name', () => {
    expect(() => localConfigFromEnv({ CUSTODY_REGION: 'local' })).toThrow(
      /CUSTODY_REGION must be an AWS region name/,
    );
  });
});
