#!/usr/bin/env node
// `custody` (npx custody): in a checkout, registers tsx so the TypeScript sources run as they are;
// in the installed package, runs the JavaScript `npm run build` emitted into dist/.
import { existsSync } from 'node:fs';
import { register } from 'tsx/esm/api';

// The SDK's notice about future Node versions would interleave with the command's own output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const source = new URL('./cli.ts', import.meta.url);
if (existsSync(source)) {
  register();
  await import(source.href);
} else {
  await import('../dist/bin/cli.js');
}
