/**
 * A path as one argument of an afterBundling hook command, which runs under sh on Linux and macOS
 * and under cmd on Windows: double-quoted, and refused if it holds a character either would read
 * inside double quotes.
 */

/** Characters that sh or cmd would read inside double quotes. */
const UNSAFE_IN_QUOTES = /["$`%!\r\n]/;

/** `"path"`, or throws the error `refuse` makes of the message. */
export function quotedHookArg(path: string, refuse: (message: string) => Error): string {
  if (UNSAFE_IN_QUOTES.test(path)) {
    throw refuse(
      `cannot pass the path ${path} to the bundling hook: it holds a character that a shell reads`,
    );
  }
  return `"${path}"`;
}
