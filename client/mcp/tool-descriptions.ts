/**
 * What the MCP tools tell an agent, so it can write code that works the first time: where input
 * files are, where output files go and how they come back, what each language has and lacks, the
 * limits. test/e2e/mcp.test.ts runs Python and JavaScript written from this text.
 */
import { MAX_FILES } from '../../lambda/core/api-schema.ts';
import { CLIP_BYTES, FILE_BYTES, FILES_BYTES } from './clip.ts';

const KIB = 1024;

export const EXECUTE_CODE_DESCRIPTION = [
  'Runs Python, JavaScript or TypeScript in a fresh sandbox under a custody execution profile, as the calling AWS identity; every run is audited. Call list_profiles first: it names the profiles you may use, their languages and limits (timeoutMs, memoryMiB, maxCodeBytes, maxOutputBytes).',
  '',
  'Files: `files` maps a relative name to UTF-8 text, or to `{ "base64": "…" }` for other bytes (at most ' +
    `${MAX_FILES} files). Output files are whatever the code writes, returned in the answer's \`files\` (name -> UTF-8 text; a file that is not text as { base64: "", mediaType, bytes }, its bytes left out; PNG, JPEG and GIF images come back as image content, so a chart saved as chart.png is shown; at most 100 files, within the profile's maxOutputBytes).`,
  '- Python: inputs are read-only at /input/NAME (`open("/input/data.csv")`); the working directory is /output, so `open("result.txt", "w")` writes an output file. Standard library only, plus the Pyodide packages the profile bundles (list_profiles gives each profile\'s `packages.python`, e.g. pandas, numpy, matplotlib; a matplotlib figure left open comes back as figure-N.png); nothing can be installed (no pip, no micropip), no network, no subprocesses. Top-level `await` works.',
  '- JavaScript: QuickJS (ES2023), not Node: `import` only the npm packages the profile bundles (list_profiles: `packages.javascript`, e.g. `import Papa from "papaparse"`), no require, no fs, no fetch, no network, no timers. A `files` global reads and writes files: `files.list()`, `files.read("data.csv")` (a string), `files.write("result.txt", text)`, and as bytes `files.readBytes(name)` and `files.writeBytes(name, uint8Array)`. `console.log` writes stdout, `console.error` stderr, `process.env` holds the profile\'s secret variables.',
  '- TypeScript: types are stripped, then it runs as the JavaScript above.',
  '',
  `Answer: JSON with status (succeeded, failed, timed_out, out_of_memory, output_limit), stdout, stderr, result (the value of the last expression, if any), error (name, message, traceback of an exception), files, durationMs, truncated (the sandbox stopped at the profile's maxOutputBytes) and executionId (the key of the run's audit record). To keep the answer small, stdout, stderr, result and the traceback are cut to ${CLIP_BYTES / KIB} KiB each and files to ${FILE_BYTES / KIB} KiB each (${FILES_BYTES / KIB} KiB in all), head and tail kept; \`clipped\` then says what was cut. Print a summary rather than a whole data set.`,
].join('\n');

export const LIST_PROFILES_DESCRIPTION =
  'Lists the execution profiles the calling AWS identity may use now: for each its languages, limits (timeoutMs, memoryMiB, maxCodeBytes, maxOutputBytes) the names of the secret variables it puts in the environment (process.env in JavaScript, os.environ in Python), and the packages its code may import (`packages.python`: Pyodide packages; `packages.javascript`: npm packages), bundled at deploy: anything else is not there.';

export const START_SESSION_DESCRIPTION = [
  'Starts a custody session under a profile, for work that spans several calls (load data, then explore it step by step): run_in_session then keeps what each call defines for the next. For one self-contained run, use execute_code instead.',
  '',
  "The session is decided like an execution (your grant, the kill switch) and the profile's secrets are read once, now: every call of the session sees them as they were at the start (a secret rotated later does not reach it). ttlSeconds (60 to 28800) is capped by the profile's maxSessionSeconds and your grant's window.",
  '',
  'Answer: sessionId (pass it to run_in_session and end_session), profile, expiresAt (the session ends then on its own, and its state with it), secretVariables (names only). Call end_session when the work is done.',
].join('\n');

export const RUN_IN_SESSION_DESCRIPTION = [
  "Runs Python, JavaScript or TypeScript in a session started with start_session. Each call is like execute_code (a fresh sandbox under the session's profile, as the calling AWS identity, audited; same languages, `files`, limits and answer), but it starts with what the earlier calls of the session left:",
  '- Python: top-level variables whose values pickle, and the functions and classes you defined. Re-import modules in each call (`import json` is cheap).',
  '- JavaScript/TypeScript: top-level bindings (let, const, var, function, class): data by value, functions by their source.',
  '- Files the code writes to its working folder (Python: the working directory /output, `open("notes.txt", "w")`; JavaScript: `files.write("notes.txt", text)`). `files` in the request are this call\'s inputs, as in execute_code: to keep one for later calls, have the code write a copy.',
  "What could not be kept (an open file, a generator, a value that does not pickle) is named in the answer's `state.dropped`: re-create those in the next call instead of assuming they exist. `state.bytes` is the size carried over; the profile caps it.",
  '',
  'Calls of one session run one at a time: a call sent while another is running is refused with SESSION_BUSY (wait for the answer, then call again). After end_session or expiresAt, calls are refused with SESSION_ENDED: start a new session.',
  '',
  'Answer: what execute_code answers (status, stdout, stderr, result, error, files, executionId, cut the same way), plus sessionId, sequence (1 for the first call, 2 for the next, ...) and state ({ bytes, dropped }).',
].join('\n');

export const END_SESSION_DESCRIPTION =
  "Ends a session now: its state (variables, functions, files) and its secrets are destroyed at once, and later calls to it are refused with SESSION_ENDED. Call it when the session's work is done; a session you forget ends at its expiresAt.";
