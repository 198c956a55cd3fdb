/**
 * The JavaScript evaluated inside each fresh QuickJS context before the user's code. It receives
 * the only two host functions the code can reach (write to a stream, write an output file),
 * captures them in a closure, and installs `console`, `process.env` and `files` on the global
 * object. It returns a `render` function the host uses to turn the last expression's value into
 * text. Nothing else of the host is visible inside QuickJS.
 */
export const PRELUDE_FILENAME = 'custody:prelude';

export const PRELUDE_SOURCE = `(function (hostWrite, hostWriteFile, inputJson, envJson) {
  'use strict';
  const inputs = JSON.parse(inputJson);
  const format = (value) => {
    if (typeof value === 'string') return value;
    if (typeof value === 'bigint') return value + 'n';
    if (typeof value === 'function') return '[Function ' + (value.name || 'anonymous') + ']';
    if (typeof value === 'symbol' || value === undefined) return String(value);
    if (value instanceof Error) return value.stack ? value.name + ': ' + value.message + '\\n' + value.stack : String(value);
    try {
      const json = JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? v + 'n' : v));
      return json === undefined ? String(value) : json;
    } catch (e) {
      return String(value);
    }
  };
  const line = (args) => args.map(format).join(' ') + '\\n';
  const out = (...args) => { hostWrite(1, line(args)); };
  const err = (...args) => { hostWrite(2, line(args)); };
  globalThis.console = Object.freeze({ log: out, info: out, debug: out, trace: out, warn: err, error: err });
  globalThis.process = { env: JSON.parse(envJson) };
  globalThis.files = Object.freeze({
    list() { return Object.keys(inputs); },
    read(name) {
      if (!Object.prototype.hasOwnProperty.call(inputs, name)) throw new Error('no input file named ' + JSON.stringify(String(name)));
      return inputs[name];
    },
    write(name, content) { hostWriteFile(String(name), String(content)); },
  });
  const render = (value) => {
    if (typeof value === 'string') return JSON.stringify(value);
    return format(value);
  };
  return render;
})`;
