/**
 * #16: a call's dataset objects in the sandboxes: Python reads real files at /data/<name>/<key>,
 * byte-exact; JavaScript reads them through `files.read('/data/<name>/<key>')`; neither can write,
 * replace or add anything under /data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { request } from './helpers.ts';

const CSV = 'species,petal\nsetosa,1.4\n';
const BINARY = Buffer.from([0, 255, 128, 10, 13, 0x89, 0x50]);
const datasets = {
  samples: {
    'iris.csv': Buffer.from(CSV).toString('base64'),
    'nested/blob.bin': BINARY.toString('base64'),
  },
};

describe('Datasets in the Python sandbox', () => {
  let sandbox: PythonSandbox;
  beforeAll(async () => {
    sandbox = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 1 });
    await sandbox.warmUp();
  });
  afterAll(() => sandbox.close());

  it('reads each object at /data/<name>/<key>, byte-exact', async () => {
    const code = [
      "text = open('/data/samples/iris.csv').read()",
      "blob = open('/data/samples/nested/blob.bin', 'rb').read()",
      'print(text, end="")',
      'list(blob)',
    ].join('\n');
    const result = await sandbox.run(request('python', code, { datasets }));
    expect(result).toMatchObject({ status: 'succeeded', stdout: CSV, result: `[${[...BINARY].join(', ')}]` });
  });

  it('refuses to overwrite, add, delete or chmod anything under /data', async () => {
    const attempts = [
      "open('/data/samples/iris.csv', 'w').write('changed')",
      "open('/data/samples/new.csv', 'w').write('x')",
      "open('/data/new.csv', 'w').write('x')",
      "import os; os.remove('/data/samples/iris.csv')",
      "import os; os.mkdir('/data/samples/more')",
      "import os; os.rename('/data/samples/iris.csv', '/data/samples/moved.csv')",
    ];
    const code = [
      'refused = []',
      ...attempts.flatMap((a, i) => ['try:', `    ${a}`, 'except OSError:', `    refused.append(${i})`]),
      "(refused, open('/data/samples/iris.csv').read())",
    ].join('\n');
    const result = await sandbox.run(request('python', code, { datasets }));
    expect(result).toMatchObject({
      status: 'succeeded',
      result: `([0, 1, 2, 3, 4, 5], '${CSV.replaceAll('\n', '\\n')}')`,
    });
  });
});

describe('Datasets in the JavaScript sandbox', () => {
  const sandbox = new QuickJsSandbox();
  afterAll(() => sandbox.close?.());

  it("reads each object through files.read('/data/<name>/<key>') and lists it", async () => {
    const code = "JSON.stringify([files.read('/data/samples/iris.csv'), files.list()])";
    const result = await sandbox.run(request('javascript', code, { datasets, files: { 'in.txt': 'x' } }));
    expect(result.status).toBe('succeeded');
    expect(JSON.parse(JSON.parse(result.status === 'succeeded' ? (result.result ?? '') : ''))).toEqual([
      CSV,
      ['in.txt', '/data/samples/iris.csv', '/data/samples/nested/blob.bin'],
    ]);
  });

  it('refuses a write under /data, naming it read-only', async () => {
    const code = "files.write('/data/samples/iris.csv', 'changed')";
    const result = await sandbox.run(request('javascript', code, { datasets }));
    expect(result).toMatchObject({
      status: 'failed',
      error: { message: expect.stringMatching(/read-only dataset path/) },
    });
    expect(result.files).toEqual({});
  });
});
