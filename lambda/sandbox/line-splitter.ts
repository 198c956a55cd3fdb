/**
 * Splits a stream of text chunks into lines in linear time. Each character is scanned once for a
 * newline: a partial line is kept as a list of pieces and joined once, when its newline arrives.
 * (Concatenating the partial line with each chunk and splitting again rescans the partial line
 * on every chunk: output written without newlines then costs time quadratic in its size.)
 */
export class LineSplitter {
  private pieces: string[] = [];
  /** Characters examined so far, for tests: stays within a small multiple of what was pushed. */
  scannedChars = 0;

  /** Feeds one chunk; returns the lines it completed (without their newline). */
  push(chunk: string): string[] {
    const lines: string[] = [];
    let from = 0;
    for (;;) {
      const at = chunk.indexOf('\n', from);
      this.scannedChars += (at < 0 ? chunk.length : at + 1) - from;
      if (at < 0) break;
      this.pieces.push(chunk.slice(from, at));
      lines.push(this.pieces.join(''));
      this.pieces = [];
      from = at + 1;
    }
    if (from < chunk.length) this.pieces.push(chunk.slice(from));
    return lines;
  }
}
