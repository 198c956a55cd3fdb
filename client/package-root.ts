/**
 * custody's package root (the folder with its package.json and bin/), from this module's own place:
 * `<root>/client/` when running from the TypeScript sources (a checkout), `<root>/dist/client/`
 * when running the JavaScript `npm run build` emits (the installed package).
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

export const PACKAGE_ROOT = import.meta.url.endsWith('.ts') ? resolve(here, '..') : resolve(here, '..', '..');
