/**
 * TypeScript is transformed (types stripped, nothing bundled or resolved) with esbuild, then run
 * as JavaScript in QuickJS. A syntax error is the user's: it comes back as a failed result.
 */
import type { UserCodeError } from '../core/types.ts';

type EsbuildModule = typeof import('esbuild');
let esbuild: Promise<EsbuildModule> | undefined;

/**
 * Loads esbuild once. On Lambda the binary is not in node_modules but in the runtime folder, so its
 * path is handed over before esbuild's module (which reads ESBUILD_BINARY_PATH when it loads) is imported.
 */
function loadEsbuild(binaryPath: string | undefined): Promise<EsbuildModule> {
  if (!esbuild) {
    if (binaryPath) process.env.ESBUILD_BINARY_PATH = binaryPath;
    esbuild = import('esbuild');
    esbuild.catch(() => {
      esbuild = undefined;
    });
  }
  return esbuild;
}

export type TransformResult = { ok: true; code: string } | { ok: false; error: UserCodeError };

export async function transformTypeScript(source: string, binaryPath?: string): Promise<TransformResult> {
  const { transform } = await loadEsbuild(binaryPath);
  try {
    const output = await transform(source, {
      loader: 'ts',
      target: 'es2023',
      sourcefile: 'main.ts',
      logLevel: 'silent',
    });
    return { ok: true, code: output.code };
  } catch (cause) {
    const errors = (
      cause as { errors?: { text: string; location?: { line: number; column: number } | null }[] }
    ).errors;
    if (!Array.isArray(errors)) throw cause;
    const lines = errors.map((e) =>
      e.location ? `main.ts:${e.location.line}:${e.location.column}: ${e.text}` : e.text,
    );
    return {
      ok: false,
      error: {
        name: 'SyntaxError',
        message: errors[0]?.text ?? 'TypeScript could not be parsed',
        traceback: lines.join('\n'),
      },
    };
  }
}
