/**
 * The JavaScript evaluated in a session's QuickJS context after the prelude and before the code
 * (#15). It restores the state the call starts from, extends `files` with the working folder, and
 * returns what the host calls after the code: `files()` (what the code wrote and removed) and
 * `capture(...)` (the top-level bindings). It runs inside the context, under the run's memory limit
 * and deadline; what it restores runs with the sandbox's rights only.
 *
 * The state (`SandboxState.javascript`) is a JSON text: `{ v: 1, defs: [[name, source]], data:
 * [[name, value]] }`. defs: functions and classes bound to a top-level name whose source starts at
 * the top level of the code that made them (or that were restored so), re-created from their
 * source. data: values carried by value, tagged: undefined, NaN/±Infinity/-0, bigint, arrays,
 * plain objects (and instances of a carried class), Date, RegExp, Map, Set, ArrayBuffer, typed
 * arrays, errors, and references to carried functions and classes; shared and cyclic references
 * are kept, across names too. Anything else (a symbol, a closure, a native function, a promise, a
 * WeakMap, a getter-less proxy trap that throws) drops the name holding it. Restored bindings are
 * writable properties of the global object, so the next call may declare them again with let/const.
 */
export const STATE_PRELUDE_FILENAME = 'custody:session';

export const STATE_PRELUDE_SOURCE = `(function (stateJson, filesJson) {
  'use strict';
  const G = globalThis;
  const O = Object, getProto = O.getPrototypeOf, defineProp = O.defineProperty, create = O.create;
  const ownKeys = O.keys, ownNames = O.getOwnPropertyNames, isArray = Array.isArray;
  const stringify = JSON.stringify, parse = JSON.parse, apply = Reflect.apply;
  const fnToString = Function.prototype.toString, indirectEval = eval, Str = String;
  const NativeMap = Map, NativeSet = Set, NativeDate = Date, NativeRegExp = RegExp, NativeAB = ArrayBuffer;
  const mapForEach = Map.prototype.forEach, setForEach = Set.prototype.forEach;
  const mapGet = Map.prototype.get, mapSet = Map.prototype.set, mapHas = Map.prototype.has, mapDelete = Map.prototype.delete;
  const setAdd = Set.prototype.add, setHas = Set.prototype.has, setDelete = Set.prototype.delete;
  const hasOwn = O.prototype.hasOwnProperty;
  const getTime = Date.prototype.getTime, push = Array.prototype.push, indexOf = String.prototype.indexOf;
  const typedProto = getProto(Uint8Array.prototype);
  const tagOf = O.getOwnPropertyDescriptor(typedProto, Symbol.toStringTag).get;
  const taBuffer = O.getOwnPropertyDescriptor(typedProto, 'buffer').get;
  const taOffset = O.getOwnPropertyDescriptor(typedProto, 'byteOffset').get;
  const taLength = O.getOwnPropertyDescriptor(typedProto, 'length').get;
  const TYPED = { Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
    Float32Array, Float64Array, BigInt64Array, BigUint64Array };
  const ERRORS = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };
  const errorProtos = new NativeMap();
  for (const name of ownKeys(ERRORS)) apply(mapSet, errorProtos, [ERRORS[name].prototype, name]);
  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const toB64 = (bytes) => {
    let out = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const a = bytes[i], b = bytes[i + 1], c = bytes[i + 2];
      out += B64[a >> 2] + B64[((a & 3) << 4) | ((b ?? 0) >> 4)] +
        (b === undefined ? '=' : B64[((b & 15) << 2) | ((c ?? 0) >> 6)]) + (c === undefined ? '=' : B64[c & 63]);
    }
    return out;
  };
  const fromB64 = (text) => {
    const clean = text.replace(/=+$/, '');
    const bytes = new Uint8Array((clean.length * 3) >> 2);
    let bits = 0, value = 0, at = 0;
    for (let i = 0; i < clean.length; i++) {
      value = (value << 6) | apply(indexOf, B64, [clean[i]]);
      bits += 6;
      if (bits >= 8) { bits -= 8; bytes[at++] = (value >> bits) & 255; }
    }
    return bytes;
  };
  const define = (name, value) => {
    defineProp(G, name, { value, writable: true, configurable: true, enumerable: true });
  };

  // ---- Restore ----
  const dropped = [];
  const carriedFns = new NativeMap(); // function or class -> its name and source, once re-created
  const baseline = new NativeMap();
  for (const name of ownNames(G)) apply(mapSet, baseline, [name, G[name]]);
  const state = stateJson === null ? { v: 1, defs: [], data: [] } : parse(stateJson);
  const decode = (node, table) => {
    if (node === null || typeof node !== 'object') return node;
    switch (node.t) {
      case 'u': return undefined;
      case 'n': return node.v === '-0' ? -0 : Number(node.v);
      case 'b': return BigInt(node.v);
      case 'r': return apply(mapGet, table, [node.i]);
      case 'g': return G[node.n];
    }
    let out;
    switch (node.t) {
      case 'a': out = []; apply(mapSet, table, [node.i, out]); for (const item of node.v) out.push(decode(item, table)); return out;
      case 'd': out = new NativeDate(decode(node.v, table)); break;
      case 'x': out = new NativeRegExp(node.s, node.f); break;
      case 'ab': out = fromB64(node.v).buffer; break;
      case 'ta': out = new TYPED[node.k](decode(node.b, table), node.o, node.l); break;
      case 'e': out = new ERRORS[node.k](node.m); defineProp(out, 'stack', { value: node.s, writable: true, configurable: true }); break;
      case 'm': out = new NativeMap(); apply(mapSet, table, [node.i, out]);
        for (const [k, v] of node.v) apply(mapSet, out, [decode(k, table), decode(v, table)]); return out;
      case 's': out = new NativeSet(); apply(mapSet, table, [node.i, out]);
        for (const v of node.v) apply(setAdd, out, [decode(v, table)]); return out;
      case 'o':
        out = create(node.c !== undefined ? G[node.c].prototype : node.p === 0 ? null : O.prototype);
        apply(mapSet, table, [node.i, out]);
        for (const [k, v] of node.v) defineProp(out, k, { value: decode(v, table), writable: true, configurable: true, enumerable: true });
        return out;
      default: throw new TypeError('unknown state node');
    }
    apply(mapSet, table, [node.i, out]);
    return out;
  };
  let pending = state.defs;
  for (let pass = 0; pass < 4 && pending.length > 0; pass++) {
    const failed = [];
    for (const def of pending) {
      try {
        const fn = indirectEval('(' + def[1] + '\\n)');
        if (typeof fn !== 'function') throw new TypeError('not a function');
        define(def[0], fn);
        apply(mapSet, carriedFns, [fn, def[1]]);
      } catch (e) { failed.push(def); }
    }
    pending = failed;
  }
  for (const def of pending) dropped.push(def[0]);
  const table = new NativeMap();
  for (const [name, node] of state.data) {
    try { define(name, decode(node, table)); } catch (e) { dropped.push(name); }
  }

  // ---- Files: the working folder (the session's files, then what this call writes) ----
  const initial = parse(filesJson); // { text: {name: text}, binary: [name] }
  const working = new NativeMap();
  for (const name of ownKeys(initial.text)) apply(mapSet, working, [name, initial.text[name]]);
  const binary = new NativeSet(initial.binary);
  const written = new NativeMap();
  const removed = new NativeSet();
  const base = G.files;
  G.files = O.freeze({
    list: base.list,
    read(name) {
      name = Str(name);
      if (base.list().includes(name)) return base.read(name);
      if (apply(mapHas, working, [name])) return apply(mapGet, working, [name]);
      if (apply(setHas, binary, [name])) throw new Error('file ' + stringify(name) + ' is binary: it cannot be read as text');
      throw new Error('no file named ' + stringify(name));
    },
    write(name, content) {
      name = Str(name); content = Str(content);
      if (!(initial.text[name] === content && !apply(mapHas, written, [name]))) base.write(name, content);
      apply(mapSet, working, [name, content]);
      apply(mapSet, written, [name, content]);
      apply(setDelete, binary, [name]);
      apply(setDelete, removed, [name]);
    },
    outputs() {
      const names = [];
      apply(mapForEach, working, [(v, k) => names.push(k)]);
      apply(setForEach, binary, [(k) => names.push(k)]);
      return names;
    },
    remove(name) {
      name = Str(name);
      apply(mapDelete, working, [name]);
      apply(mapDelete, written, [name]);
      apply(setDelete, binary, [name]);
      apply(setAdd, removed, [name]);
    },
  });
  apply(mapSet, baseline, ['files', G.files]);

  // ---- Capture ----
  const encoder = (refs, classes) => {
    const ids = new NativeMap();
    let next = 0;
    const encode = (v, added) => {
      switch (typeof v) {
        case 'string': case 'boolean': return v;
        case 'number': return v !== v || v === 1 / 0 || v === -1 / 0 || (v === 0 && 1 / v < 0) ? { t: 'n', v: v === 0 ? '-0' : Str(v) } : v;
        case 'bigint': return { t: 'b', v: Str(v) };
        case 'undefined': return { t: 'u' };
        case 'function': if (apply(mapHas, refs, [v])) return { t: 'g', n: apply(mapGet, refs, [v]) };
          throw new TypeError('a function that is not a carried definition');
        case 'symbol': throw new TypeError('a symbol');
      }
      if (v === null) return null;
      if (apply(mapHas, ids, [v])) return { t: 'r', i: apply(mapGet, ids, [v]) };
      const i = next++;
      apply(mapSet, ids, [v, i]);
      added.push(v);
      if (isArray(v)) { const out = []; for (let k = 0; k < v.length; k++) out.push(encode(v[k], added)); return { t: 'a', i, v: out }; }
      const proto = getProto(v);
      if (proto === NativeDate.prototype) return { t: 'd', i, v: encode(apply(getTime, v, []), added) };
      if (proto === NativeRegExp.prototype) return { t: 'x', i, s: v.source, f: v.flags };
      if (proto === NativeAB.prototype) return { t: 'ab', i, v: toB64(new Uint8Array(v)) };
      if (proto === NativeMap.prototype) { const out = []; apply(mapForEach, v, [(val, key) => out.push([encode(key, added), encode(val, added)])]); return { t: 'm', i, v: out }; }
      if (proto === NativeSet.prototype) { const out = []; apply(setForEach, v, [(val) => out.push(encode(val, added))]); return { t: 's', i, v: out }; }
      if (proto !== null && getProto(proto) === typedProto) {
        return { t: 'ta', i, k: apply(tagOf, v, []), b: encode(apply(taBuffer, v, []), added), o: apply(taOffset, v, []), l: apply(taLength, v, []) };
      }
      if (apply(mapHas, errorProtos, [proto])) return { t: 'e', i, k: apply(mapGet, errorProtos, [proto]), m: Str(v.message), s: Str(v.stack ?? '') };
      let c;
      if (proto !== O.prototype && proto !== null) {
        if (!apply(mapHas, classes, [proto])) throw new TypeError('an object of a class that is not carried');
        c = apply(mapGet, classes, [proto]);
      }
      const out = [];
      for (const key of ownKeys(v)) out.push([key, encode(v[key], added)]);
      return c !== undefined ? { t: 'o', i, c, v: out } : proto === null ? { t: 'o', i, p: 0, v: out } : { t: 'o', i, v: out };
    };
    return { encode, forget: (added) => { for (const v of added) apply(mapDelete, ids, [v]); } };
  };
  const capture = (candidatesJson, mask, code, budget) => {
    const lost = dropped.slice();
    const names = [];
    const seen = new NativeSet();
    for (const name of parse(candidatesJson)) { apply(setAdd, seen, [name]); names.push(name); }
    for (const name of ownNames(G)) if (!apply(setHas, seen, [name]) && !apply(mapHas, baseline, [name])) names.push(name);
    const values = [];
    for (const name of names) {
      let value;
      try { value = indirectEval(name); } catch (e) { continue; }
      // Inherited by the global object (constructor, toString, ...), unless a binding shadows it.
      if (!apply(hasOwn, G, [name]) && name in G && G[name] === value) continue;
      if (apply(mapHas, baseline, [name])) {
        if (value !== apply(mapGet, baseline, [name])) lost.push(name);
        continue;
      }
      values.push([name, value]);
    }
    const topLevel = (source) => {
      let at = apply(indexOf, code, [source]);
      while (at >= 0) {
        if (mask[at] === '0') return true;
        at = apply(indexOf, code, [source, at + 1]);
      }
      return false;
    };
    let used = 64;
    const defs = [];
    const refs = new NativeMap();
    const classes = new NativeMap();
    for (const [name, value] of values) {
      if (typeof value !== 'function') continue;
      let source;
      try { source = apply(fnToString, value, []); } catch (e) { source = ''; }
      const known = apply(mapHas, carriedFns, [value]);
      const size = stringify(stringify([name, source])).length;
      if (!known && (apply(indexOf, source, ['[native code]']) >= 0 || !topLevel(source))) { lost.push(name); continue; }
      if (used + size > budget) { lost.push(name); continue; }
      used += size;
      defs.push([name, source]);
      apply(mapSet, refs, [value, name]);
      if (apply(indexOf, source, ['class']) === 0) apply(mapSet, classes, [value.prototype, name]);
    }
    const { encode, forget } = encoder(refs, classes);
    const data = [];
    for (const [name, value] of values) {
      if (typeof value === 'function') continue;
      const added = [];
      try {
        const node = encode(value, added);
        const size = stringify(stringify([name, node])).length;
        if (used + size > budget) throw new RangeError('over the state budget');
        used += size;
        data.push([name, node]);
      } catch (e) {
        forget(added);
        lost.push(name);
      }
    }
    return stringify({ javascript: stringify({ v: 1, defs, data }), dropped: lost });
  };
  const files = () => {
    const out = { written: [], removed: [] };
    apply(mapForEach, written, [(v, k) => out.written.push([k, v])]);
    apply(setForEach, removed, [(k) => out.removed.push(k)]);
    return stringify(out);
  };
  return { files, capture };
})`;
