/**
 * The Python side of a session's state (#15): the module `_custody_state` of the host
 * (python-host.mjs), compiled into the Pyodide snapshot when it is built (`stateGlueArgs()`), and
 * sent with each session job too, compiled then only if the snapshot holds another version. Its
 * restore and capture run inside the sandbox, after the host is hidden, under the run's memory cap
 * and deadline: what they unpickle or re-define runs with the sandbox's rights only, like the code.
 *
 * The state is a JSON text (`SandboxState.python`, opaque to everyone else):
 *   { v: 1, modules: [[name, module]], defs: [[name, source]], names: [name], data: base64 | null }
 * - modules: top-level names bound to a module, imported again by the module's name;
 * - defs: top-level `def`, `async def`, `class` (with their decorators) and `name = lambda ...`
 *   statements whose name still binds what they defined, re-run in order (their decorators run
 *   again) before the data is read;
 * - data: one pickle of every other top-level name that pickles. A function or class of the code
 *   inside the data (an alias, a method, the class of an instance) is pickled as a reference to a
 *   carried definition; one that is not (made by `exec`, a closure, a lambda in a list) cannot be
 *   carried, and neither can the name holding it.
 * Names like `__x__` are the interpreter's and are not carried; `_x` names are. Every other name
 * that is not carried is returned in `dropped`.
 */
export const PYTHON_STATE_GLUE = `
import ast, base64, importlib, inspect, io, json, pickle, sys, types

_restored = {}

def _dunder(name):
    return name.startswith('__') and name.endswith('__')

def _walk(namespace, qualname):
    parts = qualname.split('.')
    value = namespace[parts[0]]
    for part in parts[1:]:
        value = getattr(value, part)
    return value

class _Pickler(pickle.Pickler):
    def __init__(self, file, carried):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.carried = carried

    def persistent_id(self, obj):
        if isinstance(obj, types.ModuleType):
            return ('module', obj.__name__)
        if isinstance(obj, (type, types.FunctionType)) and getattr(obj, '__module__', None) == '__main__':
            qualname = getattr(obj, '__qualname__', '')
            top = qualname.split('.')[0]
            if top in self.carried:
                try:
                    if _walk(self.carried, qualname) is obj:
                        return ('main', qualname)
                except Exception:
                    pass
            raise pickle.PicklingError('%s is not a carried definition' % qualname)
        return None

class _Unpickler(pickle.Unpickler):
    def __init__(self, file, namespace):
        super().__init__(file)
        self.namespace = namespace

    def persistent_load(self, pid):
        kind, name = pid
        if kind == 'module':
            return importlib.import_module(name)
        if kind == 'main':
            return _walk(self.namespace, name)
        raise pickle.UnpicklingError('unknown reference %r' % (kind,))

def _outer(value):
    # bytes of value once in the state's JSON text, and that text once in the carried state's JSON
    return len(json.dumps(json.dumps(value)))

def _dumps(value, carried):
    buffer = io.BytesIO()
    _Pickler(buffer, carried).dump(value)
    return buffer.getvalue()

def _define(namespace, defs):
    failed = []
    for item in defs:
        name, source = item
        try:
            exec(compile(source, '<session>', 'exec'), namespace)
            _restored[name] = (namespace.get(name), source)
        except BaseException:
            failed.append(item)
    return failed

def restore(namespace, text):
    try:
        state = json.loads(text)
        if not isinstance(state, dict) or state.get('v') != 1:
            raise ValueError('not a custody Python state')
        modules = [(str(n), str(m)) for n, m in state.get('modules', [])]
        defs = [(str(n), str(s)) for n, s in state.get('defs', [])]
        names = [str(n) for n in state.get('names', [])]
        data = state.get('data')
    except BaseException as e:
        return json.dumps(['* (the Python state could not be read: %s)' % type(e).__name__])
    dropped = []
    for name, module in modules:
        try:
            namespace[name] = importlib.import_module(module)
        except BaseException:
            dropped.append(name)
    # Definitions first (instances need their class); one that needs data is tried again after it.
    pending = _define(namespace, defs)
    if data:
        try:
            values = _Unpickler(io.BytesIO(base64.b64decode(data)), namespace).load()
            if not isinstance(values, dict):
                raise TypeError('the Python state data is not a dict')
            for name, value in values.items():
                namespace[str(name)] = value
        except BaseException:
            dropped.extend(names)
    dropped.extend(name for name, _ in _define(namespace, pending))
    return json.dumps(dropped)

def _defined_here(source):
    try:
        tree = ast.parse(source, 'main.py')
    except BaseException:
        return []
    lines = source.splitlines(keepends=True)
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            start = min([d.lineno for d in node.decorator_list] + [node.lineno])
            kind = 'class' if isinstance(node, ast.ClassDef) else 'def'
            found.append((node.name, kind, {start, node.lineno}, ''.join(lines[start - 1:node.end_lineno])))
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and isinstance(node.value, ast.Lambda)):
            text = ''.join(lines[node.lineno - 1:node.end_lineno])
            found.append((node.targets[0].id, 'def', {node.value.lineno}, text))
    return found

def _is_definition(value, name, kind, lines):
    if kind == 'class':
        return isinstance(value, type) and value.__module__ == '__main__' and value.__qualname__ == name
    try:
        code = inspect.unwrap(value).__code__
    except BaseException:
        return False
    return code.co_filename == 'main.py' and code.co_firstlineno in lines

def capture(namespace, source, budget):
    dropped = []
    defs = {}
    for name, (value, text) in _restored.items():
        if name in namespace and namespace[name] is value:
            defs[name] = text
    for name, kind, lines, text in _defined_here(source):
        if name in namespace and _is_definition(namespace[name], name, kind, lines):
            defs.pop(name, None)
            defs[name] = text
    used = 64
    kept_defs = []
    carried = {}
    for name, text in defs.items():
        size = _outer([name, text])
        if used + size > budget:
            dropped.append(name)
            continue
        used += size
        kept_defs.append([name, text])
        carried[name] = namespace[name]
    modules = []
    values = {}
    others = {}
    for name, value in list(namespace.items()):
        if _dunder(name) or name in defs:
            continue
        if isinstance(value, types.ModuleType):
            size = _outer([name, value.__name__])
            if sys.modules.get(value.__name__) is value and used + size <= budget:
                modules.append([name, value.__name__])
                used += size
            else:
                dropped.append(name)
            continue
        others[name] = value
    # Usually everything pickles and fits: one pickle. Else each name is tried on its own.
    data = None
    try:
        whole = _dumps(others, carried)
        if used + (len(whole) * 4) // 3 + _outer(list(others)) + 8 <= budget:
            data = base64.b64encode(whole).decode('ascii')
            values = others
            others = {}
    except BaseException:
        pass
    for name, value in others.items():
        try:
            size = (len(_dumps(value, carried)) * 4) // 3 + _outer(name) + 8
        except BaseException:
            dropped.append(name)
            continue
        if used + size > budget:
            dropped.append(name)
            continue
        used += size
        values[name] = value
    if data is None and values:
        try:
            data = base64.b64encode(_dumps(values, carried)).decode('ascii')
        except BaseException:
            dropped.extend(values)
            values = {}
    state = {'v': 1, 'modules': modules, 'defs': kept_defs, 'names': list(values), 'data': data}
    return json.dumps({'python': json.dumps(state), 'dropped': dropped})
`;
