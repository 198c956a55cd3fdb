import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CUSTODY_BIN_PATH, mcpClientConfig, PACKAGE_ROOT } from '../../../client/mcp/client-config.ts';

const ROOT = join(import.meta.dirname, '../../..');

describe('mcpClientConfig', () => {
  it("starts this package's CLI with this node, by absolute path", () => {
    const { command, args } = mcpClientConfig({ env: {}, cwd: '/tmp' }).mcpServers.custody;
    expect(command).toBe(process.execPath);
    expect(args).toEqual([join(ROOT, 'bin/custody.mjs'), 'mcp']);
    expect(existsSync(CUSTODY_BIN_PATH)).toBe(true);
  });

  it("in local mode passes the home found, else the package's .custody, and the agent profile", () => {
    expect(
      mcpClientConfig({ env: {}, cwd: '/tmp', localHome: '/p/.custody' }).mcpServers.custody.env,
    ).toEqual({
      CUSTODY_HOME: '/p/.custody',
      AWS_PROFILE: 'agent',
    });
    expect(mcpClientConfig({ env: {}, cwd: '/tmp' }).mcpServers.custody.env).toEqual({
      CUSTODY_HOME: join(PACKAGE_ROOT, '.custody'),
      AWS_PROFILE: 'agent',
    });
  });

  it('takes CUSTODY_HOME, the credentials file and the profile from the environment, made absolute', () => {
    const env = { CUSTODY_HOME: 'h', AWS_SHARED_CREDENTIALS_FILE: 'h/credentials', AWS_PROFILE: 'auditor' };
    expect(mcpClientConfig({ env, cwd: '/work/x', localHome: '/elsewhere' }).mcpServers.custody.env).toEqual({
      CUSTODY_HOME: '/work/x/h',
      AWS_SHARED_CREDENTIALS_FILE: '/work/x/h/credentials',
      AWS_PROFILE: 'auditor',
    });
  });

  it('for a deployed stack passes the endpoint, region and profile, never keys', () => {
    const env = {
      CUSTODY_ENDPOINT: 'https://x.execute-api.eu-west-1.amazonaws.com/prod',
      AWS_PROFILE: 'me',
      AWS_ACCESS_KEY_ID: 'AKIA',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'token',
    };
    expect(mcpClientConfig({ env, cwd: '/tmp', region: 'eu-west-1' }).mcpServers.custody.env).toEqual({
      CUSTODY_ENDPOINT: 'https://x.execute-api.eu-west-1.amazonaws.com/prod',
      CUSTODY_REGION: 'eu-west-1',
      AWS_PROFILE: 'me',
    });
  });

  it('lets --endpoint win over CUSTODY_ENDPOINT', () => {
    const env = { CUSTODY_ENDPOINT: 'https://a.example' };
    expect(
      mcpClientConfig({ env, cwd: '/tmp', endpoint: 'https://b.example' }).mcpServers.custody.env
        .CUSTODY_ENDPOINT,
    ).toBe('https://b.example');
  });
});
