/**
 * Vitest globalSetup: a test run leaves nothing named `custody-*` in the OS temp dir.
 *
 * The run gets a temp dir of its own (TMPDIR, which `os.tmpdir()` reads, set before any worker
 * starts, and inherited by every child that keeps the environment). Everything named `custody-*`
 * in it at the end was left by this run, not by another run or process on the same machine: those
 * entries fail the run, listed by name. The folder is then removed, so nothing outlives the run.
 * New `custody-*` entries in the machine's temp dir (a child given a stripped environment writes
 * there) are listed too, without failing, as they may belong to someone else.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Leftovers the source makes on purpose, reported but not failed here; each says where and why. */
// None since the broker's policy and deployment files are written into the app's cloud assembly,
// not the temp dir (lib/broker.ts).
const KNOWN_SOURCE_LEFTOVERS: readonly { readonly pattern: RegExp; readonly reason: string }[] = [];

function custodyEntries(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((name) => name.startsWith('custody-'))
      .sort();
  } catch {
    return [];
  }
}

export default function setup(): () => void {
  const machineTmp = tmpdir();
  const before = new Set(custodyEntries(machineTmp));
  const runTmp = mkdtempSync(join(machineTmp, 'custody-test-run-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = runTmp;

  return function teardown(): void {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;

    const left = custodyEntries(runTmp);
    const unexplained = left.filter((name) => !KNOWN_SOURCE_LEFTOVERS.some((k) => k.pattern.test(name)));
    for (const known of KNOWN_SOURCE_LEFTOVERS) {
      const names = left.filter((name) => known.pattern.test(name));
      if (names.length > 0) console.warn(`temp files left by ${known.reason}: ${names.join(', ')}`);
    }
    const elsewhere = custodyEntries(machineTmp).filter(
      (name) => !before.has(name) && join(machineTmp, name) !== runTmp,
    );
    if (elsewhere.length > 0) {
      console.warn(
        `new in ${machineTmp} during the run (a child without TMPDIR, or another process): ${elsewhere.join(', ')}`,
      );
    }
    rmSync(runTmp, { recursive: true, force: true });
    if (unexplained.length > 0) {
      // Vitest logs an error thrown here but still exits 0: the exit code is set instead.
      process.exitCode = 1;
      console.error(
        `FAIL: the tests left ${unexplained.length} temp entr${unexplained.length === 1 ? 'y' : 'ies'} ` +
          `named custody-* (removed now; each test must remove what it makes):\n  ${unexplained.join('\n  ')}`,
      );
    }
  };
}
