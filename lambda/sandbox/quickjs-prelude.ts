/**
 * The JavaScript evaluated inside each fresh QuickJS context before the user's code. It receives
 * the only two host functions the code can reach (write to a stream, write an output file),
 * captures them in a closure, and installs `console`, `process.env` and `files` on the global
 * object. `files.read`/`files.write` take text; `files.readBytes`/`files.writeBytes` take any bytes
 * as a Uint8Array (an input that is not UTF-8 is readable only as bytes). It returns a `render` function the host uses to turn the last expression's value into
 * text. Nothing else of the host is visible inside QuickJS.
 */
export const PRELUDE_FILENAME = 'custody:prelude';

export const PRELUDE_SOURCE = `(function (hostWrite, hostWriteFile, hostReadBytes, hostWriteBytes, inputJson, envJson) {
  'use strict';
  const inputs = JSON.parse(inputJson);
  const Bytes = Uint8Array;
  const Buffer = ArrayBuffer;
  const slice = Uint8Array.prototype.slice;
  const has = (name) => Object.prototype.hasOwnProperty.call(inputs, name);
  const missing = (name) => new Error('no input file named ' + JSON.stringify(String(name)));
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
      if (!has(name)) throw missing(name);
      if (inputs[name] === null) throw new Error('input file ' + JSON.stringify(String(name)) + ' is not UTF-8 text: read it with files.readBytes');
      return inputs[name];
    },
    readBytes(name) {
      if (!has(name)) throw missing(name);
      return new Bytes(hostReadBytes(String(name)));
    },
    write(name, content) { hostWriteFile(String(name), String(content)); },
    writeBytes(name, content) {
      const bytes = content instanceof Buffer ? new Bytes(content) : content;
      if (!(bytes instanceof Bytes)) throw new TypeError('files.writeBytes: content must be a Uint8Array');
      hostWriteBytes(String(name), Reflect.apply(slice, bytes, []).buffer);
    },
  });
  const render = (value) => {
    if (typeof value === 'string') return JSON.stringify(value);
    return format(value);
  };
  return render;
})`;
