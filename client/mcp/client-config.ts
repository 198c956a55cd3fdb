/**
 * `custody mcp --print-config`: the `mcpServers` entry an MCP client (Claude Desktop, Cursor, the
 * MCP Inspector…) starts `custody mcp` with. It works pasted anywhere, started from any directory:
 * clients ignore `cwd`, so every path in it is absolute (this Node, this package's
 * bin/custody.mjs: no `npx`, no registry lookup), and the local home is passed as CUSTODY_HOME.
 * It carries names of credentials (a file, a profile), never keys.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../package-root.ts';

export { PACKAGE_ROOT };

/** The CLI's entry point in this package (the TypeScript sources through tsx, or the emitted CLI). */
export const CUSTODY_BIN_PATH = join(PACKAGE_ROOT, 'bin', 'custody.mjs');

export interface McpServerConfig {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface ClientConfigInput {
  /** The environment `--print-config` runs in. */
  readonly env: NodeJS.ProcessEnv;
  /** Its working directory (relative paths in `env` are resolved against it). */
  readonly cwd: string;
  /** `--endpoint`, `--region`. */
  readonly endpoint?: string;
  readonly region?: string;
  /** The local home found (`.custody` with a local.json, walking up), when there is one. */
  readonly localHome?: string;
  /** @default process.execPath */
  readonly nodePath?: string;
}

function set(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function mcpClientConfig(input: ClientConfigInput): { mcpServers: { custody: McpServerConfig } } {
  const { env, cwd } = input;
  const absolute = (path: string) => (isAbsolute(path) ? path : resolve(cwd, path));
  const out: Record<string, string> = {};
  const endpoint = set(input.endpoint) ?? set(env.CUSTODY_ENDPOINT);
  const region = set(input.region) ?? set(env.CUSTODY_REGION);
  const credentialsFile = set(env.AWS_SHARED_CREDENTIALS_FILE);
  if (endpoint !== undefined) {
    out.CUSTODY_ENDPOINT = endpoint;
    if (region !== undefined) out.CUSTODY_REGION = region;
    for (const name of ['AWS_PROFILE', 'AWS_REGION', 'AWS_CONFIG_FILE'] as const) {
      const value = set(env[name]);
      if (value !== undefined) out[name] = name === 'AWS_CONFIG_FILE' ? absolute(value) : value;
    }
  } else {
    const home = set(env.CUSTODY_HOME);
    out.CUSTODY_HOME =
      home !== undefined ? absolute(home) : (input.localHome ?? resolve(PACKAGE_ROOT, '.custody'));
    out.AWS_PROFILE = set(env.AWS_PROFILE) ?? 'agent';
  }
  if (credentialsFile !== undefined) out.AWS_SHARED_CREDENTIALS_FILE = absolute(credentialsFile);
  return {
    mcpServers: {
      custody: {
        command: input.nodePath ?? process.execPath,
        args: [CUSTODY_BIN_PATH, 'mcp'],
        env: out,
      },
    },
  };
}
