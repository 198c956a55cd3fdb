// Peer stand-in (bench only): how Pyodide-in-Deno MCP sandboxes run Python. One long-lived Deno
// process; every execution calls a fresh `loadPyodide()` (no memory snapshot) and runs the code
// in it, as pydantic's mcp-run-python `runCode` does (it also loads micropip and pydantic first,
// which this stand-in skips: the figure favours the peer).
//
//   deno run --allow-read=<pyodideDir>,<this file> peer-host.mjs <pyodideDir>
// Reads one JSON job per stdin line ({code, files}), answers one JSON line per job.
const [pyodideDir] = Deno.args;
const { loadPyodide } = await import(`file://${pyodideDir}/pyodide.mjs`);
const encoder = new TextEncoder();
const send = (message) => Deno.stdout.writeSync(encoder.encode(`${JSON.stringify(message)}\n`));
send({ t: 'ready' });

const decoder = new TextDecoder();
let buffered = '';
for await (const chunk of Deno.stdin.readable) {
  buffered += decoder.decode(chunk, { stream: true });
  let newline = buffered.indexOf('\n');
  while (newline !== -1) {
    const job = JSON.parse(buffered.slice(0, newline));
    buffered = buffered.slice(newline + 1);
    const started = performance.now();
    const output = [];
    const pyodide = await loadPyodide({
      indexURL: `${pyodideDir}/`,
      stdout: (line) => output.push(line),
      stderr: (line) => output.push(line),
    });
    const loadMs = performance.now() - started;
    pyodide.FS.mkdirTree('/input');
    for (const [name, content] of Object.entries(job.files ?? {}))
      pyodide.FS.writeFile(`/input/${name}`, content);
    let error;
    try {
      await pyodide.runPythonAsync(job.code, {
        globals: pyodide.toPy({ __name__: '__main__' }),
        filename: 'main.py',
      });
    } catch (e) {
      error = String(e);
    }
    send({ t: 'result', stdout: output.join('\n'), error, loadMs, totalMs: performance.now() - started });
    newline = buffered.indexOf('\n');
  }
}
