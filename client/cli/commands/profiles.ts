/** `custody profiles`: the profiles the caller may use now. */
import { Command } from 'commander';
import { type CommandContext, endpointOptions } from '../command-context.ts';
import { connect, type EndpointFlags } from '../endpoint.ts';
import { EXIT } from '../exit-codes.ts';
import { line } from '../io.ts';

export const PROFILES_SYNOPSIS = 'custody profiles [--json]';

export function profilesCommand(ctx: CommandContext): Command {
  const command = new Command('profiles')
    .description('list the profiles you may use now, with languages, limits and secret names')
    .option('--json', 'print them as JSON');
  return endpointOptions(command).action(async (values: EndpointFlags & { json?: boolean }) => {
    const { io } = ctx;
    const { client } = connect(io, values);
    const profiles = await client.listProfiles();
    ctx.exitCode = EXIT.succeeded;
    if (values.json) {
      line(io.stdout, JSON.stringify({ profiles }, null, 2));
      return;
    }
    if (profiles.length === 0) {
      line(io.stdout, 'No profiles: the policy grants this identity none (now).');
      return;
    }
    for (const p of profiles) {
      const secrets = p.secretVariables.length > 0 ? `  secrets: ${p.secretVariables.join(', ')}` : '';
      line(
        io.stdout,
        `${p.name.padEnd(16)} ${p.languages.join(',').padEnd(29)} timeout ${p.limits.timeoutMs} ms, ${p.limits.memoryMiB} MiB${secrets}`,
      );
      if (p.description) line(io.stdout, `${''.padEnd(17)}${p.description}`);
    }
  });
}
