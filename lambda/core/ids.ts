/**
 * Identifiers: execution ids (ULIDs, sortable by time, valid in STS session names) and the
 * session tag keys the broker sets and the execution roles' IAM conditions read.
 */
import { randomBytes } from 'node:crypto';

/** Session tags on every execution's role session (lib/execution-role.ts conditions on them). */
export const TAG_CALLER = 'custody:caller';
export const TAG_EXECUTION_ID = 'custody:execution-id';
export const TAG_PROFILE = 'custody:profile';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** ULID: 26 chars of Crockford base32; valid in session names, sortable by time. */
export const EXECUTION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** A ULID: 48 bits of milliseconds then 80 random bits. */
export function newUlid(now: Date = new Date()): string {
  let time = now.getTime();
  let head = '';
  for (let i = 0; i < 10; i++) {
    head = (CROCKFORD[time % 32] as string) + head;
    time = Math.floor(time / 32);
  }
  const random = randomBytes(10);
  let bits = 0n;
  for (const byte of random) bits = (bits << 8n) | BigInt(byte);
  let tail = '';
  for (let i = 0; i < 16; i++) {
    tail = (CROCKFORD[Number(bits & 31n)] as string) + tail;
    bits >>= 5n;
  }
  return head + tail;
}
