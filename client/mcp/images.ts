/**
 * Images a run wrote (`chart.png`), as MCP image content beside the execute_code answer, so an
 * agent sees the chart rather than its base64. PNG, JPEG and GIF only (what MCP clients render);
 * up to IMAGES_BYTES of image bytes in all, the rest named in a text block (the SDK and the CLI's
 * `--output-dir` still give every file whole).
 */
import type { ImageContent, TextContent } from '@modelcontextprotocol/sdk/types.js';
import type { ExecutionResponse } from '../../lambda/core/api-schema.ts';

/** Bytes of images returned as image content, in all. */
export const IMAGES_BYTES = 2 * 1024 * 1024;

const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif']);

/** The answer's images as image content blocks, within IMAGES_BYTES, and a note naming any left out. */
export function imageContent(response: ExecutionResponse): (ImageContent | TextContent)[] {
  const blocks: (ImageContent | TextContent)[] = [];
  const left: string[] = [];
  let room = IMAGES_BYTES;
  for (const [name, content] of Object.entries(response.files ?? {})) {
    if (typeof content === 'string' || !IMAGE_TYPES.has(content.mediaType)) continue;
    if (content.bytes > room) {
      left.push(`${name} (${content.bytes} bytes)`);
      continue;
    }
    room -= content.bytes;
    blocks.push({ type: 'text', text: `files/${name} (${content.mediaType}, ${content.bytes} bytes):` });
    blocks.push({ type: 'image', data: content.base64, mimeType: content.mediaType });
  }
  if (left.length > 0) {
    blocks.push({
      type: 'text',
      text: `Images not shown (over ${IMAGES_BYTES} bytes in all): ${left.join(', ')}. The SDK's fileBytes() or \`custody run --output-dir\` give them whole.`,
    });
  }
  return blocks;
}
