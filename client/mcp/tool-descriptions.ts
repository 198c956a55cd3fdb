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
  'Files: `files` maps a relative name to UTF-8 text (at most ' +
    `${MAX_FILES} files). Output files are whatever the code writes, returned in the answer's \`files\` (name -> UTF-8 text; at most 100 files, within the profile's maxOutputBytes).`,
  '- Python: inputs are read-only at /input/NAME (`open("/input/data.csv")`); the working directory is /output, so `open("result.txt", "w")` writes an output file. Standard library only, plus the Pyodide packages the profile bundles (list_profiles gives each profile\'s `packages.python`, e.g. pandas, numpy, matplotlib; a matplotlib figure left open comes back as figure-N.png); nothing can be installed (no pip, no micropip), no network, no subprocesses. Top-level `await` works.',
  '- JavaScript: QuickJS (ES2023), not Node: no require/import, no fs, no fetch, no network, no timers. A `files` global reads and writes files: `files.list()`, `files.read("data.csv")` (a string), `files.write("result.txt", text)`. `console.log` writes stdout, `console.error` stderr, `process.env` holds the profile\'s secret variables.',
  '- TypeScript: types are stripped, then it runs as the JavaScript above.',
  '',
  `Answer: JSON with status (succeeded, failed, timed_out, out_of_memory, output_limit), stdout, stderr, result (the value of the last expression, if any), error (name, message, traceback of an exception), files, durationMs, truncated (the sandbox stopped at the profile's maxOutputBytes) and executionId (the key of the run's audit record). To keep the answer small, stdout, stderr, result and the traceback are cut to ${CLIP_BYTES / KIB} KiB each and files to ${FILE_BYTES / KIB} KiB each (${FILES_BYTES / KIB} KiB in all), head and tail kept; \`clipped\` then says what was cut. Print a summary rather than a whole data set.`,
].join('\n');

export const LIST_PROFILES_DESCRIPTION =
  'Lists the execution profiles the calling AWS identity may use now: for each its languages, limits (timeoutMs, memoryMiB, maxCodeBytes, maxOutputBytes) the names of the secret variables it puts in the environment (process.env in JavaScript, os.environ in Python), and the packages its code may import (`packages.python`: Pyodide packages; `packages.javascript`: npm packages), bundled at deploy: anything else is not there.';
