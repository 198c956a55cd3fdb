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
