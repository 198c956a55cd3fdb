import { describe, expect, it } from 'vitest';
import { quotedHookArg } from '../../../lib/bundling/hook-arg.ts';

class Refused extends Error {}
const refuse = (message: string) => new Refused(message);

describe('quotedHookArg', () => {
  it('double-quotes a path that sh and cmd read as one literal argument', () => {
    expect(quotedHookArg('/home/me/my project/node', refuse)).toBe('"/home/me/my project/node"');
    expect(quotedHookArg('C:\\Users\\me\\node.exe', refuse)).toBe('"C:\\Users\\me\\node.exe"');
  });

  it.each(['"', '$', '`', '%', '!', '\r', '\n'])(
    'refuses a path holding %j, which a shell would read inside the quotes, with the caller’s error',
    (char) => {
      const path = `/tmp/a${char}b/node`;
      expect(() => quotedHookArg(path, refuse)).toThrow(Refused);
      expect(() => quotedHookArg(path, refuse)).toThrow(`cannot pass the path ${path} to the bundling hook`);
    },
  );
});
