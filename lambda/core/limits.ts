/**
 * The hard limits of one execution, whatever a policy says: the broker refuses a profile past them
 * and the executor refuses an event past them.
 */

/** Lambda's synchronous response is capped at 6 MB; outputs must fit in it with room to spare. */
export const MAX_OUTPUT_BYTES_LIMIT = 1024 * 1024;
/** The QuickJS and Pyodide engines are 32-bit WebAssembly. */
export const MAX_MEMORY_MIB = 2048;
export const MAX_TIMEOUT_MS = 15 * 60 * 1000;
export const MAX_CODE_BYTES = 1024 * 1024;

/** At most this many output files are returned from one execution. */
export const MAX_OUTPUT_FILES = 100;

/** The most input bytes a profile's `maxInputBytes` may allow (the policy refuses more). */
export const MAX_INPUT_BYTES_LIMIT = 4 * 1024 * 1024;

/** Lambda's limit on a synchronous invocation's request and its response, each. */
export const MAX_EXECUTOR_PAYLOAD_BYTES = 6 * 1024 * 1024;
