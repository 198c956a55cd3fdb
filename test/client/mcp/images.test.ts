import { describe, expect, it } from 'vitest';
import { IMAGES_BYTES, imageContent } from '../../../client/mcp/images.ts';
import type { ExecutionResponse } from '../../../lambda/core/api-schema.ts';

const base: ExecutionResponse = {
  executionId: 'e1',
  status: 'succeeded',
  stdout: '',
  stderr: '',
  truncated: false,
  durationMs: 1,
  codeSha256: 'c',
  outputSha256: 'o',
  role: { arn: 'arn:aws:iam::111122223333:role/r', sessionName: 's' },
};

const file = (mediaType: string, bytes: number) => ({ base64: 'QUJD', mediaType, bytes });

describe('imageContent', () => {
  it('returns PNG, JPEG and GIF files as images, each after a line naming it, and nothing else', () => {
    const blocks = imageContent({
      ...base,
      files: {
        'a.png': file('image/png', 3),
        'b.jpg': file('image/jpeg', 3),
        'c.gif': file('image/gif', 3),
        'd.pdf': file('application/pdf', 3),
        'e.svg': '<svg/>',
      },
    });
    expect(blocks.filter((b) => b.type === 'image')).toEqual([
      { type: 'image', data: 'QUJD', mimeType: 'image/png' },
      { type: 'image', data: 'QUJD', mimeType: 'image/jpeg' },
      { type: 'image', data: 'QUJD', mimeType: 'image/gif' },
    ]);
    expect(blocks[0]).toEqual({ type: 'text', text: 'files/a.png (image/png, 3 bytes):' });
  });

  it('keeps images within IMAGES_BYTES in all and names those left out', () => {
    const blocks = imageContent({
      ...base,
      files: { 'big.png': file('image/png', IMAGES_BYTES), 'more.png': file('image/png', 1) },
    });
    expect(blocks.filter((b) => b.type === 'image')).toHaveLength(1);
    expect(blocks.at(-1)).toMatchObject({
      type: 'text',
      text: expect.stringContaining('more.png (1 bytes)'),
    });
  });
});
