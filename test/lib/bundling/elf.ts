/**
 * Test helper: the machine an ELF binary is built for (its e_machine), read from its header.
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** e_machine values: x86-64 and AArch64. */
export const ELF_MACHINE = { x86_64: 0x3e, aarch64: 0xb7 } as const;

/** The e_machine of the ELF file at `path`; throws if it is not an ELF file. */
export function elfMachine(path: string): number {
  const header = Buffer.alloc(20);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, 20, 0);
  } finally {
    closeSync(fd);
  }
  if (header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
  // EI_DATA (byte 5): 1 little-endian, 2 big-endian.
  return header[5] === 2 ? header.readUInt16BE(18) : header.readUInt16LE(18);
}
