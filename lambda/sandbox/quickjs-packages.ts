/**
 * The JavaScript packages a profile bundles (#17), as the QuickJS sandbox loads them.
 *
 * Each package is one self-contained CommonJS module, built at synth by esbuild
 * (`lib/bundling/js-packages.ts`) and carried in the profile's executor asset (locally, built at
 * start). The user's `import Papa from "papaparse"` lines are rewritten by the transform
 * (`typescript.ts`) into calls of `require`, which is defined only for such code and resolves only
 * the profile's bundled names, from memory: a Node built-in, a relative path, a URL or a package
 * the profile does not bundle is refused with a message naming the profile and how to add one.
 * Dynamic `import()` stays refused by the module loader, with the same message.
 *
 * A package's code is compiled the first time the user's code requires it, inside the run's
 * limits and clock, in the run's own context (nothing is shared between runs).
 */
import { builtinModules } from 'node:module';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime } from 'quickjs-emscripten-core';

/** One bundled package: its name, the version the lock file pinned, and its module's source. */
export interface JavaScriptPackage {
  readonly name: string;
  readonly version: string;
  /** sha256 (hex) of `source`, UTF-8. */
  readonly sha256: string;
  readonly source: string;
}

/** The packages each profile bundles, by profile name. */
export type JavaScriptPackageCatalog = Readonly<Record<string, readonly JavaScriptPackage[]>>;

/** The packages one run may import: its profile's (none when the profile is unknown). */
export interface PackageScope {
  readonly profile: string | undefined;
  readonly packages: readonly JavaScriptPackage[];
}

/** The scope of `profile` in `catalog`. */
export function packageScope(catalog: JavaScriptPackageCatalog | undefined, profile?: string): PackageScope {
  const packages =
    profile !== undefined && catalog && Object.hasOwn(catalog, profile) ? catalog[profile] : [];
  return { profile, packages: packages ?? [] };
}

/**
 * True when the code has a static `import` or `export` declaration (not `import(` or `import.meta`).
 * A false positive (the word in a string) only costs a transform that leaves such code unchanged.
 */
export function hasModuleSyntax(code: string): boolean {
  return /(?:^|[^\w$.])(?:import(?:\s+[\w$*{]|\s*[{*"'])|export(?:\s+[\w$]|\s*[{*]))/.test(code);
}

/** Every name Node resolves to a built-in module (`fs`, `fs/promises`, `node:*`...). */
function isNodeBuiltin(specifier: string): boolean {
  return (
    specifier.startsWith('node:') ||
    builtinModules.includes(specifier) ||
    builtinModules.includes(specifier.split('/')[0] ?? '')
  );
}

/** Why `specifier` cannot be imported in `scope` (the whole message). */
function importRefusal(specifier: string, scope: PackageScope): string {
  const bundled = scope.packages.map((p) => p.name);
  if (bundled.includes(specifier)) {
    return `cannot import("${specifier}") dynamically: use a static import at the top of the code (import X from "${specifier}")`;
  }
  let why: string;
  if (isNodeBuiltin(specifier)) why = 'the sandbox has no Node built-ins (no file system, no network)';
  else if (/^[a-z][a-z0-9+.-]*:/i.test(specifier)) why = 'nothing is fetched at run time';
  else if (/^[./\\]/.test(specifier))
    why = 'there are no files to import from, only bundled packages by name';
  else why = 'it is not bundled';
  const profile = scope.profile === undefined ? 'this sandbox' : `profile "${scope.profile}"`;
  const has = bundled.length > 0 ? `bundles only ${bundled.join(', ')}` : 'bundles no JavaScript packages';
  const list = [...bundled, 'NAME'].map((n) => JSON.stringify(n)).join(', ');
  return (
    `cannot import "${specifier}": ${why}; ${profile} ${has}. To add a package: npm i NAME, list it in ` +
    `the profile as "javascript": {"packages": [${list}]}, and deploy (locally: restart npm start)`
  );
}

/**
 * Refuses every dynamic `import()` with the message above (the static imports never reach the
 * engine's module loader: they are `require` calls by then).
 */
export function refuseDynamicImports(runtime: QuickJSRuntime, scope: PackageScope): void {
  runtime.setModuleLoader((name) => ({ error: new Error(importRefusal(name, scope)) }));
}

const REQUIRE_SOURCE = `(function (load) {
  'use strict';
  const modules = Object.create(null);
  return function require(name) {
    name = String(name);
    const known = modules[name];
    if (known) return known.exports;
    const factory = load(name);
    const module = { exports: {} };
    modules[name] = module;
    factory.call(module.exports, module, module.exports, require);
    return module.exports;
  };
})`;

/**
 * Defines `require` on the context's global object for code whose imports the transform turned
 * into `require` calls: it resolves only `scope`'s packages (compiling each on first use).
 */
export function installRequire(ctx: QuickJSContext, scope: PackageScope): void {
  const byName = new Map(scope.packages.map((p) => [p.name, p]));
  const load = ctx.newFunction('load', (nameHandle): QuickJSHandle | { error: QuickJSHandle } => {
    const name = ctx.getString(nameHandle);
    const found = byName.get(name);
    if (!found) return { error: ctx.newError({ name: 'Error', message: importRefusal(name, scope) }) };
    const compiled = ctx.evalCode(
      `(function (module, exports, require) {\n${found.source}\n})`,
      `package:${found.name}@${found.version}`,
      { strict: false },
    );
    if (compiled.error) return { error: compiled.error };
    return compiled.value;
  });
  const factory = ctx.unwrapResult(ctx.evalCode(REQUIRE_SOURCE, 'custody:require', { strict: true }));
  try {
    const require = ctx.unwrapResult(ctx.callFunction(factory, ctx.undefined, load));
    ctx.defineProp(ctx.global, 'require', { value: require, configurable: true, enumerable: false });
    require.dispose();
  } finally {
    factory.dispose();
    load.dispose();
  }
}
