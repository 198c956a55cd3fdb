import type { FileMap } from './file-map.ts';
import type { SandboxState } from './sandbox-state.ts';

/**
 * The shared vocabulary of custody: what a sandbox is asked to do and what it answers.
 * The broker, the executor Lambda, the local mode and the client all speak these types.
 */

export const LANGUAGES = ['python', 'javascript', 'typescript'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Limits a sandbox enforces on one execution. */
export interface SandboxLimits {
  /** Wall-clock deadline of the user's code, in milliseconds. */
  readonly timeoutMs: number;
  /** Memory the user's code may allocate, in MiB. */
  readonly memoryMiB: number;
  /** Cap on each of stdout and stderr, and on the files written, in bytes. */
  readonly maxOutputBytes: number;
}

/** One execution, as the executor receives it. */
export interface SandboxRequest {
  readonly executionId: string;
  readonly language: Language;
  readonly code: string;
  readonly limits: SandboxLimits;
  /** Input files (relative name -> text, or bytes when not UTF-8), read-only to the code. */
  readonly files?: Readonly<FileMap>;
  /** Variables exposed to the code for this execution only (os.environ / process.env). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * Present on a call of a session (#15): the state the previous call left (absent on the first
   * call). The sandbox restores it before the code runs and returns the new one in `state`.
   */
  readonly session?: {
    readonly state?: SandboxState;
    /** The profile's `maxStateBytes`. @default MAX_STATE_BYTES_LIMIT (sandbox-state.ts) */
    readonly maxStateBytes?: number;
  };
  /**
   * Read-only dataset objects (#16), read by the broker with the call's role session: dataset
   * name -> key relative to its prefix -> the object's bytes, base64. Python sees them at
   * `/data/<name>/<key>`, JavaScript through `files.read('/data/<name>/<key>')`; writes there fail.
   */
  readonly datasets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** The profile the run is under: named in its messages, and picks its Python packages (#17). */
  readonly profile?: string;
}

export const SANDBOX_STATUSES = [
  'succeeded',
  'failed',
  'timed_out',
  'out_of_memory',
  'output_limit',
] as const;
export type SandboxStatus = (typeof SANDBOX_STATUSES)[number];

/** An exception raised by the user's code: data, not an executor failure. */
export interface UserCodeError {
  readonly name: string;
  readonly message: string;
  /** Traceback without the sandbox's own frames. */
  readonly traceback: string;
}

interface SandboxResultBase {
  readonly stdout: string;
  readonly stderr: string;
  readonly stdoutTruncated: boolean;
  readonly stderrTruncated: boolean;
  /** Files the code wrote under its output folder (relative name -> text, or bytes when not UTF-8). */
  readonly files: Readonly<FileMap>;
  readonly filesTruncated: boolean;
  readonly timings: { readonly startMs: number; readonly runMs: number };
  /**
   * Set when the request had `session`: what the next call of the session starts from, and the
   * names that could not be carried (never silently lost).
   */
  readonly state?: { readonly carried: SandboxState; readonly dropped: readonly string[] };
}

/** The outcome of one execution, discriminated on `status`. */
export type SandboxResult =
  | (SandboxResultBase & {
      readonly status: 'succeeded';
      /** The value of the last expression, rendered as text (repr in Python, JSON-ish in JS), if any. */
      readonly result?: string;
    })
  | (SandboxResultBase & { readonly status: 'failed'; readonly error: UserCodeError })
  | (SandboxResultBase & {
      readonly status: 'timed_out' | 'out_of_memory' | 'output_limit';
      readonly error?: UserCodeError;
    });

/** A sandbox runs one request in fresh, contained state and discards that state afterwards. */
export interface Sandbox {
  run(request: SandboxRequest): Promise<SandboxResult>;
  /** Releases long-lived resources (pre-started processes, WASM modules). */
  close?(): Promise<void>;
}
