/**
 * Binary files end to end against the real local server (#16): bytes in and out of Python and
 * JavaScript through the signed API, a PNG written by Python as an image through the API, the
 * CLI's --output-dir and the MCP tool, and each file's sha256 in the audit record.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecutionResponse } from '../../lambda/core/api-schema.ts';
import { allByteValues, decodePng, pythonPngCode } from '../support/binary-samples.ts';
import { CUSTODY_BIN, custody, sdkSigned, startTestServer, type TestServer } from './support.ts';

let t: TestServer;
let work: string;
const BLOB = allByteValues();
const PNG_SIGNATURE = '89504e470d0a1a0a';
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

beforeAll(async () => {
  t = await startTestServer();
  work = mkdtempSync(join(tmpdir(), 'custody-binary-'));
});
afterAll(async () => {
  await t?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function execute(request: Record<string, unknown>): Promise<ExecutionResponse> {
  const res = await sdkSigned({
    identity: t.identity('agent'),
    url: `${t.server.url}/v1/executions`,
    body: JSON.stringify({ profile: 'sandbox', ...request }),
  });
  expect(res.status, res.body).toBe(200);
  return JSON.parse(res.body) as ExecutionResponse;
}

function bytesOf(answer: ExecutionResponse, name: string): Buffer {
  const value = answer.files?.[name];
  if (value === undefined) throw new Error(`no file ${name}`);
  return typeof value === 'string' ? Buffer.from(value) : Buffer.from(value.base64, 'base64');
}

describe('binary files through the local API', () => {
  it.each([
    ['python', "open('copy.bin', 'wb').write(open('/input/blob.bin', 'rb').read())"],
    ['javascript', 'files.writeBytes("copy.bin", files.readBytes("blob.bin"))'],
  ])(
    'round-trips every byte value through %s, byte for byte, with each sha256 audited',
    async (language, code) => {
      const answer = await execute({
        language,
        code,
        files: { 'blob.bin': { base64: Buffer.from(BLOB).toString('base64') } },
      });
      expect(answer.status).toBe('succeeded');
      expect(answer.files?.['copy.bin']).toEqual({
        base64: Buffer.from(BLOB).toString('base64'),
        mediaType: 'application/octet-stream',
        bytes: BLOB.length,
      });
      const records = await t.server.auditStore.get(answer.executionId);
      const completed = records.find((r) => r.event === 'completed');
      expect(completed?.request.files).toEqual([
        { name: 'blob.bin', bytes: BLOB.length, sha256: sha256(BLOB) },
      ]);
      expect(completed?.outcome?.files).toEqual([
        { name: 'copy.bin', bytes: BLOB.length, sha256: sha256(bytesOf(answer, 'copy.bin')) },
      ]);
    },
  );

  it('answers a PNG written by Python as base64 with its media type and size', async () => {
    const answer = await execute({ language: 'python', code: pythonPngCode('chart.png') });
    expect(answer.status).toBe('succeeded');
    const png = answer.files?.['chart.png'];
    expect(png).toMatchObject({ mediaType: 'image/png', bytes: Number(answer.stdout.trim()) });
    expect(decodePng(bytesOf(answer, 'chart.png'))).toMatchObject({ width: 2, height: 2 });
  });
});

describe('custody run with binary files', () => {
  it('sends a binary --input as bytes and saves every output byte for byte in --output-dir', async () => {
    const input = join(work, 'blob.bin');
    writeFileSync(input, BLOB);
    const outDir = join(work, 'out');
    const code = `import os\nos.makedirs('charts')\n${pythonPngCode('charts/chart.png')}\nopen('copy.bin', 'wb').write(open('/input/blob.bin', 'rb').read())`;
    const out = await custody(
      [
        'run',
        '--profile',
        'sandbox',
        '--language',
        'python',
        '-c',
        code,
        '--input',
        `blob.bin=${input}`,
        '--output-dir',
        outDir,
        '--json',
      ],
      t.cliEnv('agent'),
    );
    expect(out.code, `${out.stderr}\n${out.stdout.slice(0, 2000)}`).toBe(0);
    const answer = JSON.parse(out.stdout) as ExecutionResponse;
    expect(readFileSync(join(outDir, 'copy.bin')).equals(Buffer.from(BLOB))).toBe(true);
    const saved = readFileSync(join(outDir, 'charts/chart.png'));
    expect(saved.equals(bytesOf(answer, 'charts/chart.png'))).toBe(true);
    expect(saved.subarray(0, 8).toString('hex')).toBe(PNG_SIGNATURE);
  });
});

describe('execute_code over MCP', () => {
  it('returns a PNG the code wrote as image content beside the text answer', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [CUSTODY_BIN, 'mcp'],
      env: t.cliEnv('agent') as Record<string, string>,
      cwd: work,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'custody-e2e-binary', version: '1.0.0' });
    await client.connect(transport);
    try {
      const result = await client.callTool({
        name: 'execute_code',
        arguments: { profile: 'sandbox', language: 'python', code: pythonPngCode('chart.png') },
      });
      expect(result.isError).toBeFalsy();
      const content = result.content as { type: string; data?: string; mimeType?: string; text?: string }[];
      const images = content.filter((c) => c.type === 'image');
      expect(images).toHaveLength(1);
      expect(images[0]?.mimeType).toBe('image/png');
      expect(
        Buffer.from(images[0]?.data ?? '', 'base64')
          .subarray(0, 8)
          .toString('hex'),
      ).toBe(PNG_SIGNATURE);
      const structured = result.structuredContent as ExecutionResponse;
      expect(structured.files?.['chart.png']).toMatchObject({ base64: '', mediaType: 'image/png' });
    } finally {
      await client.close();
    }
  });
});
