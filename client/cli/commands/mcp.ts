/** `custody mcp`: the MCP server on stdio (client/mcp/server.ts), calling the API as `run` does. */
import { Command } from 'commander';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { connect, type EndpointFlags } from '../endpoint.ts';
import { EXIT } from '../exit-codes.ts';

export const MCP_SYNOPSIS = 'custody mcp';

export function mcpCommand(ctx: CommandContext): Command {
  const command = new Command('mcp').description('serve the custody tools to an MCP client over stdio');
  return endpointOptions(command).action(async (values: EndpointFlags) => {
    const { serveMcp } = await import('../../mcp/server.ts');
    await serveMcp(connect(ctx.io, values).client);
    ctx.exitCode = EXIT.succeeded;
  });
}
