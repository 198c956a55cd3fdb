/**
 * `custody mcp`: the MCP server on stdio (client/mcp/server.ts), calling the API as `run` does.
 * It starts with or without a reachable endpoint: the endpoint is found again at each tool call.
 * `--print-config` prints the client configuration that starts it from anywhere.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { LOCAL_STACK_FILE } from '../../../lambda/core/local-stack.ts';
import { type CustodyClient, CustodyConfigError } from '../../index.ts';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { connect, type EndpointFlags } from '../endpoint.ts';
import { EXIT } from '../exit-codes.ts';
import { type CliIo, line } from '../io.ts';
import { localStack } from '../local-home.ts';
import { packageVersion } from '../package-version.ts';

export const MCP_SYNOPSIS = 'custody mcp [--print-config]';

export function mcpCommand(ctx: CommandContext): Command {
  const command = new Command('mcp')
    .description('serve the custody tools to an MCP client over stdio')
    .option(
      '--print-config',
      'print the {"mcpServers": …} entry that starts this server from any MCP client, then exit',
    );
  return endpointOptions(command).action(async (values: EndpointFlags & { printConfig?: boolean }) => {
    const { io } = ctx;
    if (values.printConfig) {
      const { mcpClientConfig } = await import('../../mcp/client-config.ts');
      const local = io.env.CUSTODY_HOME ? undefined : localStack(io);
      const config = mcpClientConfig({
        env: io.env,
        cwd: io.cwd,
        ...(values.endpoint !== undefined ? { endpoint: values.endpoint } : {}),
        ...(values.region !== undefined ? { region: values.region } : {}),
        ...(local ? { localHome: local.home } : {}),
      });
      line(io.stdout, JSON.stringify(config, null, 2));
      const home = config.mcpServers.custody.env.CUSTODY_HOME;
      if (home !== undefined && !local && !existsSync(join(home, LOCAL_STACK_FILE))) {
        line(
          io.stderr,
          `custody: no local server runs in ${home} yet: until one does (\`npm start\` in the project, with this home), the tools answer with an error saying so`,
        );
      }
      ctx.exitCode = EXIT.succeeded;
      return;
    }
    const { serveMcp } = await import('../../mcp/server.ts');
    await serveMcp(() => findClient(io, values), packageVersion());
    ctx.exitCode = EXIT.succeeded;
  });
}

/** The client for one tool call; with CUSTODY_HOME set and no server there, an error naming it. */
function findClient(io: CliIo, flags: EndpointFlags): CustodyClient {
  try {
    return connect(io, flags).client;
  } catch (error) {
    const home = io.env.CUSTODY_HOME;
    if (!(error instanceof CustodyConfigError) || !home) throw error;
    throw new CustodyConfigError(
      `no custody server runs in CUSTODY_HOME=${resolve(io.cwd, home)} (it has no ${LOCAL_STACK_FILE})`,
      { cause: error },
    );
  }
}
