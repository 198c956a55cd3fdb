/** Files as bytes through both sandboxes (#16): nothing is decoded lossily on the way in or out. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FileValue, fileMap } from '../../lambda/core/file-map.ts';
import { PythonSandbox } from '../../lambda/sandbox/python-sandbox.ts';
import { QuickJsSandbox } from '../../lambda/sandbox/quickjs-sandbox.ts';
import { resolveRuntimeFiles } from '../../lambda/sandbox/runtime-files.ts';
import { allByteValues, decodePng, pythonPngCode } from '../support/binary-samples.ts';
import { LIMITS, request } from './helpers.ts';

const BLOB = allByteValues();
const LIMITS_4K = { ...LIMITS, maxOutputBytes: 4_096 };

let python: PythonSandbox;
const quickjs = new QuickJsSandbox();

beforeAll(async () => {
  python = new PythonSandbox(resolveRuntimeFiles(), { prestartedProcesses: 1 });
  await python.warmUp();
});

afterAll(async () => {
  await python.close();
  await quickjs.close();
});

describe('binary files in Python', () => {
  it('copies every byte value from input to output unchanged', async () => {
    const result = await python.run(
      request(
        'python',
        "data = open('/input/in/blob.bin', 'rb').read()\nopen('copy.bin', 'wb').write(data)\nlen(data)",
        { files: fileMap<FileValue>([['in/blob.bin', BLOB]]), limits: LIMITS_4K },
      ),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: String(BLOB.length), filesTruncated: false });
    expect(result.files['copy.bin']).toEqual(BLOB);
  });

  it('gives text written as bytes back as text, and a text input as its UTF-8 bytes', async () => {
    const result = await python.run(
      request(
        'python',
        "open('out.txt', 'wb').write(open('/input/in.txt', 'rb').read() + 'ü'.encode())\nopen('/input/in.txt').read()",
        { files: fileMap<FileValue>([['in.txt', 'grüße\n']]) },
      ),
    );
    expect(result).toMatchObject({
      status: 'succeeded',
      result: "'grüße\\n'",
      files: { 'out.txt': 'grüße\nü' },
    });
  });

  it('writes a valid PNG that comes back as bytes', async () => {
    const result = await python.run(request('python', pythonPngCode('chart.png'), { limits: LIMITS_4K }));
    expect(result.status).toBe('succeeded');
    const png = result.files['chart.png'];
    expect(png).toBeInstanceOf(Uint8Array);
    expect(
      Buffer.from(png as Uint8Array)
        .subarray(0, 8)
        .toString('latin1'),
    ).toBe('\x89PNG\r\n\x1a\n');
    // A valid PNG, read chunk by chunk (CRCs, header, inflated rows): 2x2, red then blue per row.
    expect(decodePng(png as Uint8Array)).toEqual({
      width: 2,
      height: 2,
      pixels: [0, 255, 0, 0, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255],
    });
  });
});

describe('binary files in JavaScript', () => {
  it('copies every byte value with files.readBytes and files.writeBytes', async () => {
    const result = await quickjs.run(
      request(
        'javascript',
        'const b = files.readBytes("in/blob.bin"); files.writeBytes("copy.bin", b); b.length',
        { files: fileMap<FileValue>([['in/blob.bin', BLOB]]), limits: LIMITS_4K },
      ),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: String(BLOB.length) });
    expect(result.files['copy.bin']).toEqual(BLOB);
  });

  it('reads a text input as its UTF-8 bytes and keeps valid UTF-8 output as text', async () => {
    const result = await quickjs.run(
      request(
        'javascript',
        'const b = files.readBytes("in.txt"); files.writeBytes("out.txt", b); Array.from(b).join(",")',
        {
          files: fileMap<FileValue>([['in.txt', 'é']]),
        },
      ),
    );
    expect(result).toMatchObject({ status: 'succeeded', result: '"195,169"', files: { 'out.txt': 'é' } });
  });

  it('refuses files.read of a binary input, naming files.readBytes', async () => {
    const result = await quickjs.run(
      request('javascript', 'files.read("blob.bin")', { files: fileMap<FileValue>([['blob.bin', BLOB]]) }),
    );
    expect(result.status).toBe('failed');
    if (result.status === 'failed') expect(result.error.message).toContain('files.readBytes');
  });

  it('refuses files.writeBytes of anything but bytes', async () => {
    const result = await quickjs.run(request('javascript', 'files.writeBytes("x.bin", "text")'));
    expect(result.status).toBe('failed');
    if (result.status === 'failed') expect(result.error).toMatchObject({ name: 'TypeError' });
    expect(result.files).toEqual({});
  });

  it('counts written bytes against the output cap', async () => {
    const result = await quickjs.run(
      request('javascript', 'files.writeBytes("big.bin", new Uint8Array(5000))', { limits: LIMITS_4K }),
    );
    expect(result.status).toBe('failed');
    expect(result.files).toEqual({});
  });
});
