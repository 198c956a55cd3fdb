// Longer than this project's 400-line guide on purpose: it is the one script Deno may read from the
// runtime folder; its parts (files, datasets #16, session state #15, packages #17) are marked blocks.
//
// The Deno host of ONE Python execution. Run by python-host-process.ts as
//   deno run --no-prompt --allow-read=<runtime files> --deny-* python-host.mjs serve <pyodideDir> [snapshot] [packagesDir]
// with an empty environment. It loads Pyodide (from a memory snapshot when given), says
// {"t":"ready"}, reads one job (a JSON line) from stdin, runs it, reports {"t":"result"} and exits.
// The parent names every file through a folder of neutral links (see python-work-dir.ts), so the
// paths this realm sees say nothing of the host; what the realm could still tell (the Deno
// binary's path, the pids, the resolver's address) is taken away before the code runs.
// Or, as `snapshot <pyodideDir> [stateGlue stateGlueId]`, writes a fresh Pyodide memory snapshot to
// stdout and exits (with the session-state glue compiled into it, when given).
//
// Pyodide is not a sandbox: the Python code can reach this JavaScript realm (`import js`). What holds
// is Deno's permission set (no env, net, run, write, ffi, sys; read only of the runtime files) and
// the process being thrown away after this one job. Protocol messages the code forges through the
// bridge can only describe its own execution; the parent validates and caps everything it reads.

const [mode, pyodideDir, snapshotPath, packagesDir] = Deno.args;
const stdout = Deno.stdout;
const writeSync = stdout.writeSync.bind(stdout);
const exit = Deno.exit.bind(Deno);
const encoder = new TextEncoder();
const stringify = JSON.stringify;

function writeAll(bytes) {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(bytes.subarray(offset));
}

function send(message) {
  writeAll(encoder.encode(`${stringify(message)}\n`));
}

// Heap growth guard: Emscripten grows Pyodide's heap with memory.grow() inside a try/catch, so a
// refused growth becomes malloc() == NULL, i.e. a Python MemoryError. The cap is set per job.
const realGrow = WebAssembly.Memory.prototype.grow;
let growCapBytes = Number.POSITIVE_INFINITY;
let growRefused = false;
WebAssembly.Memory.prototype.grow = function grow(pages) {
  if (this.buffer.byteLength + pages * 65536 > growCapBytes) {
    growRefused = true;
    throw new RangeError('custody: the execution reached its memory limit');
  }
  return Reflect.apply(realGrow, this, [pages]);
};

// Pyodide takes sys.executable and the `_` variable from the arguments, and the snapshot keeps
// them (the Python heap is readable through the bridge): neutral ones, in both modes.
const nodeProcessModule = (await import('node:process')).default;
Object.defineProperty(nodeProcessModule, 'argv', {
  value: ['python3', '/main.py'],
  writable: false,
  configurable: false,
});

const { loadPyodide } = await import(`file://${pyodideDir}/pyodide.mjs`);
const quiet = () => {};

if (mode === 'snapshot') {
  const pyodide = await loadPyodide({
    indexURL: `${pyodideDir}/`,
    _makeSnapshot: true,
    stdout: quiet,
    stderr: quiet,
  });
  // A session's state is pickled (python-state-glue.ts): importing pickle and compiling the glue
  // cost more than a second in a fresh Pyodide, so both are done once here, into the snapshot.
  pyodide.runPython('import pickle');
  if (Deno.args[2]) defineStateGlue(pyodide, Deno.args[2], Deno.args[3] ?? '');
  // What loading a package imports (Pyodide's package loader, lazily): in the snapshot, so a run
  // that imports a bundled package does not pay seconds for it (bench/python-packages.ts, #17).
  pyodide.runPython('import tarfile, importlib.metadata, email, encodings.cp437');
  writeAll(pyodide.makeMemorySnapshot());
  exit(0);
}

const snapshot = snapshotPath ? await Deno.readFile(snapshotPath) : undefined;
const packageLocks = await readPackageLocks();
const pyodide = await loadPyodide({
  indexURL: `${pyodideDir}/`,
  ...(snapshot ? { _loadSnapshot: snapshot } : {}),
  ...packageLocks.loadOptions,
  stdout: quiet,
  stderr: quiet,
});
const FS = pyodide.FS;

// Glue: lives in its own namespace; the user's code runs in a fresh dict of its own.
const glue = pyodide.toPy({});
pyodide.runPython(
  `
import json, os, random, sys, tempfile, traceback
from pyodide.code import eval_code_async

def _internal(filename):
    return filename == '<custody>' or '_pyodide/' in filename or '/pyodide/' in filename

def _trim(te):
    te.stack = traceback.StackSummary.from_list([f for f in te.stack if not _internal(f.filename)])
    if te.__cause__ is not None:
        _trim(te.__cause__)
    if te.__context__ is not None:
        _trim(te.__context__)

def _failure(e):
    te = traceback.TracebackException.from_exception(e)
    _trim(te)
    lines = list(te.format())
    if len(lines) > 60:
        lines = lines[:25] + ['  ... %d more lines ...\\n' % (len(lines) - 50)] + lines[-25:]
    try:
        message = str(e)
    except BaseException:
        message = '<unprintable %s>' % type(e).__name__
    return {'ok': False, 'name': type(e).__name__, 'message': message, 'traceback': ''.join(lines)}

def setup(env_json):
    os.environ.clear()
    os.environ.update(json.loads(env_json))
    # The memory snapshot froze the generators' state: every run would draw the same numbers.
    # Reseed from the OS (crypto.getRandomValues) for this run. uuid4, secrets and SystemRandom
    # read os.urandom each time and need nothing. hash()'s secret stays (docs/sandbox.md).
    random.seed()
    tempfile._name_sequence = None

def new_namespace():
    return {'__name__': '__main__', '__builtins__': __builtins__}

async def run(source, namespace=None):
    if namespace is None:
        namespace = new_namespace()
    try:
        value = await eval_code_async(source, namespace, filename='main.py')
    except SystemExit as e:
        if e.code is None or e.code == 0:
            return json.dumps({'ok': True, 'result': None})
        return json.dumps(_failure(e))
    except BaseException as e:
        return json.dumps(_failure(e))
    if value is None:
        return json.dumps({'ok': True, 'result': None})
    try:
        rendered = repr(value)
    except BaseException as e:
        return json.dumps(_failure(e))
    return json.dumps({'ok': True, 'result': rendered})
`,
  { globals: glue, filename: '<custody>' },
);
const setupJob = glue.get('setup');
const runJob = glue.get('run');
const newNamespace = glue.get('new_namespace');
const packageGlue = definePackageGlue();

send({ t: 'ready' });

/**
 * Takes from this realm what tells of the host: the Deno binary's path, the main module and
 * arguments, the working directory, the pids, the permission set, DNS (whose refusal names the
 * resolver), workers (a fresh realm with all of it again) and Deno's internals; the same through
 * node:process. The parent's paths are neutral already; this keeps even those out of sight.
 */
function hideHost() {
  const refuse = (what) => () => {
    throw new Deno.errors.NotCapable(`custody: ${what} is not available in the sandbox`);
  };
  const hidden = {
    execPath: refuse('Deno.execPath()'),
    cwd: () => '/output',
    mainModule: 'file:///main.py',
    args: [],
    pid: 1,
    ppid: 0,
    permissions: undefined,
    resolveDns: refuse('DNS'),
    chdir: refuse('Deno.chdir()'),
  };
  for (const [name, value] of Object.entries(hidden)) {
    Object.defineProperty(Deno, name, { value, writable: false, configurable: false, enumerable: true });
  }
  const internal = Deno.internal;
  if (internal !== undefined) {
    Object.defineProperty(Deno, internal, { value: undefined, writable: false, configurable: false });
    Object.defineProperty(Deno, 'internal', { value: undefined, writable: false, configurable: false });
  }
  for (const name of ['Worker', 'SharedWorker']) {
    Object.defineProperty(globalThis, name, { value: undefined, writable: false, configurable: false });
  }
  // node:process: its pid, ppid, execPath, argv0 and title are fixed getters over Deno's (hidden
  // above, or set here); the rest is replaced.
  const nodeProcess = {
    execArgv: [],
    cwd: () => '/output',
    chdir: refuse('process.chdir()'),
    mainModule: undefined,
  };
  for (const [name, value] of Object.entries(nodeProcess)) {
    Object.defineProperty(nodeProcessModule, name, { value, writable: false, configurable: false });
  }
  nodeProcessModule.execPath = 'python3';
  nodeProcessModule.argv0 = 'python3';
  nodeProcessModule.title = 'python3';
}
// ---- Pyodide packages of the profile (#17) ----------------------------------------------------
// Pyodide is given a lock naming only the files bundled with the profile (`packagesDir`, made at
// synth by lib/bundling/pyodide-packages.ts) and told to load them from that folder, so nothing is
// ever fetched: with no packages, the lock is empty. Before a run, the imports of the code are
// detected (find_imports) and the bundled packages among them loaded from the folder. An import
// of any other Pyodide package fails with a message naming the profile and how to add it.

/** The bundled lock (empty without packages) and Pyodide's full one (to name what is not bundled). */
async function readPackageLocks() {
  const full = JSON.parse(await Deno.readTextFile(`${pyodideDir}/pyodide-lock.json`));
  const bundled = packagesDir
    ? JSON.parse(await Deno.readTextFile(`${packagesDir}/pyodide-lock.json`))
    : { info: full.info, packages: {} };
  return {
    full,
    bundled,
    loadOptions: { lockFileContents: bundled, packageBaseUrl: `${packagesDir || pyodideDir}/` },
  };
}

function definePackageGlue() {
  const globals = pyodide.toPy({});
  pyodide.runPython(
    `
import json, os, sys
from importlib.abc import MetaPathFinder
from pyodide.code import find_imports

def imports_of(source):
    try:
        return json.dumps(find_imports(source))
    except BaseException:
        return '[]'  # a syntax error: the run reports it

class _NotBundled(MetaPathFinder):
    def __init__(self, packages, messages, named):
        self.packages = packages
        self.messages = messages
        self.named = named
    def find_spec(self, fullname, path=None, target=None):
        if path is not None:
            return None
        message = self.messages.get(fullname)
        package = self.packages.get(fullname)
        if message is None and package is not None:
            message = (
                "No module named '%s': %s does not bundle the Pyodide package %s. Add it to the "
                'profile in the policy ("python": {"packages": ["%s"]}) and deploy again (locally: '
                'restart npm start); nothing is installed at run time.' % (fullname, self.named, package, package)
            )
        if message is not None:
            raise ModuleNotFoundError(message, name=fullname)
        return None

def refuse(packages_json, messages_json, named, matplotlib):
    sys.meta_path.append(_NotBundled(json.loads(packages_json), json.loads(messages_json), named))
    if matplotlib:
        os.environ.setdefault('MPLBACKEND', 'Agg')

def save_open_figures():
    plt = sys.modules.get('matplotlib.pyplot')
    if plt is None:
        return
    try:
        for number in plt.get_fignums():
            name = 'figure-%d.png' % number
            if not os.path.exists(name):
                plt.figure(number).savefig(name, format='png')
        plt.close('all')
    except BaseException as e:
        print('custody: could not save the open matplotlib figures: %s' % e, file=sys.stderr)
`,
    { globals, filename: '<custody>' },
  );
  return globals;
}

/**
 * Loads the bundled packages the code imports, and makes every other Pyodide package's import
 * fail naming the profile. `job.python.packages`, when given, narrows what this job may load
 * (local mode bundles the packages of every profile in one folder).
 */
/**
 * What a session's earlier calls imported (#15 with #17): the modules it re-imports and what its
 * kept definitions import, so a package an earlier call loaded is loaded again for this one.
 */
function sessionImports(job) {
  const python = job.session?.state?.python;
  if (typeof python !== 'string') return [];
  try {
    const state = JSON.parse(python);
    const modules = (state.modules ?? [])
      .map((entry) => entry[1])
      .filter((name) => typeof name === 'string' && /^[A-Za-z_][\w.]*$/.test(name));
    const defs = (state.defs ?? []).map((entry) => String(entry[1])).join('\n');
    return [...modules, ...JSON.parse(packageGlue.get('imports_of')(defs))];
  } catch {
    return []; // an unreadable state is named in `dropped` when it is restored
  }
}

async function preparePackages(job) {
  const { full, bundled } = packageLocks;
  const profile = typeof job.python?.profile === 'string' ? job.python.profile : undefined;
  const allowed = Array.isArray(job.python?.packages) ? new Set(job.python.packages) : undefined;
  const provides = new Map();
  for (const [key, entry] of Object.entries(bundled.packages)) {
    if (allowed && !allowed.has(key)) continue;
    for (const name of entry.imports) provides.set(name, key);
  }
  const problem = typeof job.python?.problem === 'string' ? ` (${job.python.problem})` : '';
  const named = (profile ? `profile "${profile}"` : 'this profile') + problem;
  const providedKeys = new Set(provides.values());
  const notBundled = {};
  for (const [key, entry] of [...Object.entries(full.packages), ...Object.entries(bundled.packages)]) {
    if (entry.package_type !== 'package' || providedKeys.has(key)) continue;
    for (const name of entry.imports) if (!provides.has(name)) notBundled[name] = entry.name;
  }
  const messages = {};
  const wanted = new Set();
  for (const name of [...JSON.parse(packageGlue.get('imports_of')(job.code)), ...sessionImports(job)]) {
    const key = provides.get(name.split('.')[0]);
    if (key) wanted.add(key);
  }
  for (const [name, key] of provides) {
    if (!wanted.has(key)) {
      messages[name] =
        `No module named '${name}': the package ${key} is bundled with ${named}, but is loaded only ` +
        `when the code imports it by name (an import statement such as \`import ${name}\`).`;
    }
  }
  if (wanted.size > 0) {
    try {
      await pyodide.loadPackage([...wanted], { messageCallback: quiet, errorCallback: quiet });
    } catch (error) {
      for (const [name, key] of provides) {
        if (wanted.has(key))
          messages[name] = `No module named '${name}': loading ${key} failed: ${error.message}`;
      }
    }
  }
  packageGlue.get('refuse')(stringify(notBundled), stringify(messages), named, provides.has('matplotlib'));
}

// One job: a single JSON line on stdin, then EOF.
const chunks = [];
let received = 0;
const reader = Deno.stdin.readable.getReader();
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  chunks.push(value);
  received += value.length;
  if (received > 256 * 1024 * 1024) exit(3);
}
const jobBytes = new Uint8Array(received);
let at = 0;
for (const chunk of chunks) {
  jobBytes.set(chunk, at);
  at += chunk.length;
}
const job = JSON.parse(new TextDecoder().decode(jobBytes));
const maxOutputBytes = job.limits.maxOutputBytes;

// Output: streamed to the parent as it is written, capped here and again by the parent.
const interrupt = new Int32Array(1);
pyodide.setInterruptBuffer(interrupt);
let outputExceeded = false;
function stream(fd) {
  const decoder = new TextDecoder('utf-8', { fatal: false });
  let written = 0;
  return {
    write(buffer) {
      if (outputExceeded) return buffer.length;
      const room = maxOutputBytes - written;
      const slice = buffer.length > room ? buffer.subarray(0, Math.max(0, room)) : buffer;
      written += slice.length;
      const text = decoder.decode(slice, { stream: slice === buffer });
      if (text) send({ t: 'o', s: fd, d: text });
      if (slice !== buffer) {
        outputExceeded = true;
        interrupt[0] = 2; // SIGINT: KeyboardInterrupt at the next check
      }
      return buffer.length;
    },
  };
}
pyodide.setStdout(stream(1));
pyodide.setStderr(stream(2));

// Input files: read-only under /input, byte for byte (text as UTF-8, `{ b64 }` decoded).
// Outputs: whatever the code writes under /output (the cwd).
function writeInputFiles(files) {
  FS.mkdirTree('/input');
  for (const [name, content] of Object.entries(files)) {
    const path = `/input/${name}`;
    FS.mkdirTree(path.slice(0, path.lastIndexOf('/')));
    FS.writeFile(path, typeof content === 'string' ? content : Uint8Array.fromBase64(content.b64));
    FS.chmod(path, 0o444);
  }
}
writeInputFiles(job.files ?? {});
// ---- #16 datasets: read-only under /data/<name>/<key> (files 0444, folders 0555: no new file) ----
{
  const dirs = new Set(['/data']);
  FS.mkdirTree('/data');
  for (const [name, objects] of Object.entries(job.datasets ?? {})) {
    for (const [key, base64] of Object.entries(objects)) {
      const path = `/data/${name}/${key}`;
      const dir = path.slice(0, path.lastIndexOf('/'));
      FS.mkdirTree(dir);
      for (let d = dir; d.length > '/data'.length; d = d.slice(0, d.lastIndexOf('/'))) dirs.add(d);
      const binary = atob(base64);
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
      FS.writeFile(path, bytes);
      FS.chmod(path, 0o444);
    }
  }
  for (const dir of dirs) FS.chmod(dir, 0o555);
}
// ---- end #16 datasets ----
FS.mkdirTree('/output');
FS.chdir('/output');
const session = job.session ? openSession(job.session) : undefined;
setupJob(stringify(job.env ?? {}));
await preparePackages(job);
hideHost();

growCapBytes = pyodide._module.HEAPU8.buffer.byteLength + job.limits.memoryMiB * 1024 * 1024;
const namespace = newNamespace();
session?.restore(namespace);
const outcome = JSON.parse(await runJob(job.code, namespace));
// #17: a matplotlib figure left open comes back as figure-N.png (before the state takes the files).
packageGlue.get('save_open_figures')();
const state = session && !outputExceeded && !growRefused ? session.capture(namespace) : undefined;
growCapBytes = Number.POSITIVE_INFINITY;

// Output files, within the byte budget and file-count cap (the parent checks again). A list of
// [name, content] pairs: names such as __proto__ or constructor are data, never object keys. The
// content is the text when the bytes are valid UTF-8, else `{ b64 }`: bytes are never decoded lossily.
const files = [];
let filesBytes = 0;
let filesCount = 0;
let filesTruncated = false;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function outputFileContent(bytes) {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return { b64: bytes.toBase64() };
  }
}
const pending = ['/output'];
let visited = 0;
while (pending.length > 0 && !filesTruncated) {
  const dir = pending.pop();
  for (const entry of FS.readdir(dir)) {
    if (entry === '.' || entry === '..') continue;
    visited += 1;
    if (visited > 10_000) {
      filesTruncated = true;
      break;
    }
    const path = `${dir}/${entry}`;
    const stat = FS.lstat(path);
    if (FS.isDir(stat.mode)) pending.push(path);
    if (!FS.isFile(stat.mode)) continue;
    const name = path.slice('/output/'.length);
    if (session?.unchanged(name, path)) continue;
    const size = stat.size + encoder.encode(name).length;
    if (filesBytes + size > maxOutputBytes || filesCount + 1 > 100) {
      filesTruncated = true;
      break;
    }
    files.push([name, outputFileContent(FS.readFile(path))]);
    filesBytes += size;
    filesCount += 1;
  }
}

send({
  t: 'result',
  outcome,
  outputExceeded,
  memoryExhausted: growRefused,
  files,
  filesTruncated,
  ...(state ? { state } : {}),
});
exit(0);

// ---- Session state (#15) --------------------------------------------------------------------
// A call of a session: its files are put in /output before the code runs, its Python state is
// restored in the code's namespace (python-state-glue.ts, run after hideHost(), under the memory
// cap) and, after the code, the files of /output and the namespace become the state carried to
// the next call. Files the call did not change are left out of the answer's `files`.

function toBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** Files of /output (all of them, in a stable order) within the state's budget: [[name, base64]]. */
function workingFiles(maxBytes, maxFiles, dropped) {
  const found = [];
  const pending = ['/output'];
  while (pending.length > 0) {
    const dir = pending.pop();
    for (const entry of FS.readdir(dir).sort()) {
      if (entry === '.' || entry === '..') continue;
      const path = `${dir}/${entry}`;
      const stat = FS.lstat(path);
      if (FS.isDir(stat.mode)) pending.push(path);
      else if (FS.isFile(stat.mode)) found.push(path);
    }
  }
  const files = [];
  let bytes = 0;
  for (const path of found) {
    const name = path.slice('/output/'.length);
    const size = Math.ceil(FS.lstat(path).size / 3) * 4 + encoder.encode(name).length + 6;
    if (files.length >= maxFiles || bytes + size > maxBytes) {
      dropped.push(`file:${name}`);
      continue;
    }
    files.push([name, toBase64(FS.readFile(path))]);
    bytes += size;
  }
  return { files, bytes };
}

/** Compiles the state glue as the module `_custody_state` (in the snapshot, or for one job). */
function defineStateGlue(instance, source, id) {
  instance.runPython(
    `import sys, types\n_m = types.ModuleType('_custody_state')\n_m.GLUE_ID = ${stringify(id)}\n` +
      `exec(compile(${stringify(source)}, '<custody>', 'exec'), _m.__dict__)\nsys.modules['_custody_state'] = _m\ndel _m`,
    { filename: '<custody>' },
  );
}

/** The glue the snapshot holds if it is this job's version, else the job's, compiled now. */
function stateGlueModule(source, id) {
  const held = pyodide.runPython("import sys\nsys.modules.get('_custody_state')", { filename: '<custody>' });
  if (held !== undefined && held.GLUE_ID === id) return held;
  defineStateGlue(pyodide, source, id);
  return pyodide.pyimport('_custody_state');
}

function openSession(request) {
  const { state = { files: {} }, glue: glueSource, maxStateBytes, maxFiles } = request;
  const restoredFiles = new Map();
  for (const [name, content] of Object.entries(state.files ?? {})) {
    const path = `/output/${name}`;
    const bytes = fromBase64(content);
    FS.mkdirTree(path.slice(0, path.lastIndexOf('/')));
    FS.writeFile(path, bytes);
    restoredFiles.set(name, bytes);
  }
  const stateGlue = stateGlueModule(glueSource, request.glueId);
  const restoreState = stateGlue.restore;
  const captureState = stateGlue.capture;
  const dropped = [];
  return {
    restore(namespace) {
      if (typeof state.python !== 'string') return;
      try {
        dropped.push(...JSON.parse(restoreState(namespace, state.python)));
      } catch {
        dropped.push('* (the Python state could not be restored)');
      }
    },
    capture(namespace) {
      try {
        const carried = workingFiles(maxStateBytes, maxFiles, dropped);
        const javascriptBytes =
          typeof state.javascript === 'string' ? encoder.encode(stringify(state.javascript)).length + 16 : 0;
        const budget = maxStateBytes - carried.bytes - javascriptBytes - 256;
        const captured = JSON.parse(captureState(namespace, job.code, Math.max(0, budget)));
        return { files: carried.files, python: captured.python, dropped: [...dropped, ...captured.dropped] };
      } catch {
        return undefined;
      }
    },
    unchanged(name, path) {
      const before = restoredFiles.get(name);
      return before !== undefined && sameBytes(before, FS.readFile(path));
    },
  };
}
