/**
 * `node --import tsx bundle-runtime-cli.ts <base64url JSON>`: what the executor's afterBundling
 * hook runs (see `executorBundleCommands`). The JSON holds inputDir, outputDir and architecture.
 * A failure prints one line naming what is wrong and exits 1, which stops `cdk synth`.
 */
import { bundleExecutorRuntime, type ExecutorRuntimeOptions } from './bundle-files.ts';
import { FUNCTION_ARCHITECTURES } from './npm-binaries.ts';
import { bundleProfilePythonPackages, type PythonPackagesBundling } from './profile-python-packages.ts';

try {
  const options = JSON.parse(
    Buffer.from(process.argv[2] ?? '', 'base64url').toString('utf8'),
  ) as ExecutorRuntimeOptions & { python?: PythonPackagesBundling };
  if (typeof options.inputDir !== 'string' || typeof options.outputDir !== 'string') {
    throw new Error('bundle-runtime-cli: expected {inputDir, outputDir, architecture} as base64url JSON');
  }
  if (!FUNCTION_ARCHITECTURES.includes(options.architecture ?? 'x86_64')) {
    throw new Error(`bundle-runtime-cli: unknown architecture ${JSON.stringify(options.architecture)}`);
  }
  bundleExecutorRuntime({
    inputDir: options.inputDir,
    outputDir: options.outputDir,
    architecture: options.architecture ?? 'x86_64',
  });
  if (options.python) await bundleProfilePythonPackages(options.inputDir, options.outputDir, options.python);
} catch (err) {
  process.stderr.write(`custody executor bundling: ${(err as Error).message}\n`);
  process.exit(1);
}
