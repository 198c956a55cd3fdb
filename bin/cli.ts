/**
 * The `custody` CLI entry point (thin): wire the process to `client/cli/main.ts` and exit with its code.
 */
import { main } from '../client/cli/main.ts';

const code = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  cwd: process.cwd(),
});
process.exitCode = code;
