/**
 * The CPU architecture of custody's Lambda functions: x86_64 (default) or arm64 (Graviton).
 * `CustodyConstruct` takes it as a prop and records it in its construct context; every
 * `CustodyFunction` below it reads it from there, and the executor's bundle carries the Linux
 * deno and esbuild of that architecture.
 */
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { FUNCTION_ARCHITECTURES, type FunctionArchitecture } from './npm-binaries.ts';

export type { FunctionArchitecture } from './npm-binaries.ts';

/** The default: the architecture every custody function had before the choice existed. */
const DEFAULT_ARCHITECTURE: FunctionArchitecture = 'x86_64';

/** The app context key: `cdk synth -c architecture=arm64`. */
export const ARCHITECTURE_CONTEXT_KEY = 'architecture';

/** Where CustodyConstruct records its architecture for the functions below it. */
export const CONSTRUCT_ARCHITECTURE_KEY = 'custody:architecture';

/** A bad architecture value; the message names where it came from. */
export class ArchitectureError extends Error {
  override readonly name = 'ArchitectureError';
}

/** Checks a value given as `architecture`; `source` names where it came from in the error. */
export function parseArchitecture(value: unknown, source: string): FunctionArchitecture {
  if (typeof value === 'string' && (FUNCTION_ARCHITECTURES as readonly string[]).includes(value)) {
    return value as FunctionArchitecture;
  }
  throw new ArchitectureError(
    `${source} must be one of ${FUNCTION_ARCHITECTURES.join(', ')}, got ${JSON.stringify(value)}`,
  );
}

/** The architecture recorded for `scope` by the CustodyConstruct above it, else the default. */
export function architectureOf(scope: IConstruct): FunctionArchitecture {
  const value: unknown = scope.node.tryGetContext(CONSTRUCT_ARCHITECTURE_KEY);
  return value === undefined ? DEFAULT_ARCHITECTURE : parseArchitecture(value, CONSTRUCT_ARCHITECTURE_KEY);
}

export function lambdaArchitecture(architecture: FunctionArchitecture): lambda.Architecture {
  return architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64;
}
