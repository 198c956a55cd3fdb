/** `custody audit`: the audit trail's commands, one module each. */
import { Command } from 'commander';
import type { CommandContext } from '../command-context.ts';
import { EXIT } from '../exit-codes.ts';
import { auditReconcileCommand } from './audit-reconcile.ts';
import { auditReportCommand } from './audit-report.ts';
import { auditTailCommand } from './audit-tail.ts';
import { auditVerifyCommand } from './audit-verify.ts';

export function auditCommand(ctx: CommandContext): Command {
  const audit = new Command('audit')
    .description('read, verify, report on and reconcile the audit trail')
    .addCommand(auditTailCommand(ctx))
    .addCommand(auditVerifyCommand(ctx))
    .addCommand(auditReportCommand(ctx))
    .addCommand(auditReconcileCommand(ctx))
    .helpCommand(true);
  // Without a subcommand: its usage, on stdout (unknown ones are refused by program.ts).
  return audit.action(() => {
    audit.outputHelp();
    ctx.exitCode = EXIT.succeeded;
  });
}
