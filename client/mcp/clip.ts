/**
 * An execution's answer cut to a size an agent's context can hold: stdout, stderr, the result and
 * the traceback to at most CLIP_BYTES each (the head and the tail, where an error usually is), the
 * files the code wrote inline up to FILE_BYTES each and FILES_BYTES in all. What was cut is said
 * in `clipped`, so the agent knows that it saw part and how to see the rest. A binary file is never
 * inlined as base64 (an agent cannot read it): its entry keeps its media type and size with empty
 * base64, and images go beside the answer as image content (`images.ts`).
 */
import { z } from 'zod';
import {
  type ExecutionResponse,
  executionResponseSchema,
  sessionExecutionResponseSchema,
} from '../../lambda/core/api-schema.ts';

/** Bytes kept of stdout, stderr, the result and the traceback, each. */
export const CLIP_BYTES = 8 * 1024;
/** Bytes kept of one output file. */
export const FILE_BYTES = 8 * 1024;
/** Bytes of output files kept in all; files past it are listed with empty content. */
export const FILES_BYTES = 32 * 1024;

const clippedSchema = z
  .object({
    fields: z
      .array(
        z.object({
          field: z.string().describe('`stdout`, `stderr`, `result`, `error.traceback` or `files/NAME`'),
          bytes: z.number().describe('Its size in UTF-8 bytes'),
          shownBytes: z.number().describe('How many of them are shown (its head and tail)'),
        }),
      )
      .describe('Each field that was cut'),
    note: z.string(),
  })
  .describe('Present when some output was cut to keep this answer small');

/** The execute_code tool's answer: the API's execution response, cut, plus what was cut. */
export const clippedExecutionSchema = executionResponseSchema.extend({ clipped: clippedSchema.optional() });

/** The run_in_session tool's answer: a session call's response (sequence, state), cut the same way. */
export const clippedSessionExecutionSchema = sessionExecutionResponseSchema.extend({
  clipped: clippedSchema.optional(),
});

/** An answer cut to size: the response's own fields (a session call's too), and what was cut. */
type Clipped<T extends ExecutionResponse> = T & { clipped?: z.infer<typeof clippedSchema> };

interface Cut {
  readonly field: string;
  readonly bytes: number;
  readonly shownBytes: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const continues = (bytes: Uint8Array, i: number) =>
  i > 0 && i < bytes.length && ((bytes[i] as number) & 0xc0) === 0x80;

/** `at`, moved back (or forward) to the start of a UTF-8 character. */
function boundary(bytes: Uint8Array, at: number, step: -1 | 1): number {
  let i = at;
  while (continues(bytes, i)) i += step;
  return i;
}

/** `text` if it fits in `maxBytes`, else its head and tail around a marker saying how much was cut. */
export function clipText(
  text: string,
  maxBytes: number,
): { text: string; bytes: number; shownBytes: number } {
  const bytes = encoder.encode(text);
  if (bytes.length <= maxBytes) return { text, bytes: bytes.length, shownBytes: bytes.length };
  const headEnd = boundary(bytes, Math.floor(maxBytes / 2), -1);
  const tailStart = boundary(bytes, bytes.length - (maxBytes - headEnd), 1);
  const head = decoder.decode(bytes.subarray(0, headEnd));
  const tail = decoder.decode(bytes.subarray(tailStart));
  const cut = tailStart - headEnd;
  return {
    text: `${head}\n[... ${cut} bytes cut ...]\n${tail}`,
    bytes: bytes.length,
    shownBytes: headEnd + (bytes.length - tailStart),
  };
}

export function clipExecution<T extends ExecutionResponse>(response: T): Clipped<T> {
  const cuts: Cut[] = [];
  const clip = (field: string, text: string, maxBytes: number): string => {
    const out = clipText(text, maxBytes);
    if (out.shownBytes < out.bytes) cuts.push({ field, bytes: out.bytes, shownBytes: out.shownBytes });
    return out.text;
  };
  const clipped: Clipped<T> = {
    ...response,
    stdout: clip('stdout', response.stdout, CLIP_BYTES),
    stderr: clip('stderr', response.stderr, CLIP_BYTES),
  };
  if (response.result !== undefined) clipped.result = clip('result', response.result, CLIP_BYTES);
  if (response.error) {
    clipped.error = {
      name: response.error.name,
      message: clip('error.message', response.error.message, CLIP_BYTES),
      traceback: clip('error.traceback', response.error.traceback, CLIP_BYTES),
    };
  }
  if (response.files) {
    // Entries, never `files[name] = …` on a plain object: a file may be named __proto__.
    const entries: [string, NonNullable<ExecutionResponse['files']>[string]][] = [];
    let room = FILES_BYTES;
    for (const [name, content] of Object.entries(response.files)) {
      if (typeof content !== 'string') {
        cuts.push({ field: `files/${name}`, bytes: content.bytes, shownBytes: 0 });
        entries.push([name, { ...content, base64: '' }]);
        continue;
      }
      const bytes = encoder.encode(content).length;
      if (room <= 0) {
        cuts.push({ field: `files/${name}`, bytes, shownBytes: 0 });
        entries.push([name, '']);
        continue;
      }
      const text = clip(`files/${name}`, content, Math.min(FILE_BYTES, room));
      room -= encoder.encode(text).length;
      entries.push([name, text]);
    }
    clipped.files = Object.fromEntries(entries);
  }
  if (cuts.length > 0) {
    clipped.clipped = {
      fields: cuts,
      note: `Some output was cut to keep this answer small (each field's head and tail are shown). Binary files are listed without their bytes; PNG, JPEG and GIF images come as image content beside this answer. custody does not keep the output itself: the execution's record (\`custody show ${response.executionId}\`) holds its sha256 (outputSha256). To see more, run code that prints less, or a slice of it.`,
    };
  }
  return clipped;
}
