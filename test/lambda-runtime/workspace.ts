/**
 * The files of one Lambda-like test run, in a temporary folder the sandbox's user can read:
 * Node 22 (→ /var/lang), the runtime stand-in (→ /var/runtime), and each function's code asset
 * zipped as the CDK CLI does and unzipped as Lambda does (→ /var/task).
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { extractAssetZip, zipAssetDirectory } from './asset-zip.ts';
import type { AssemblyFunction } from './cloud-assembly.ts';
import { ExecutionEnvironment, SANDBOX_GID, SANDBOX_UID } from './execution-environment.ts';
import { lambdaEnvironment, lambdaNodeFlags } from './lambda-environment.ts';
import { extractNode, nodeTarball } from './node-runtime.ts';

export class Workspace {
  readonly dir: string;
  private readonly nodeDir: string;
  private readonly runtimeDir: string;
  private readonly passwdFile: string;
  private readonly groupFile: string;
  private readonly tasks = new Map<string, string>();
  private count = 0;
  /** Zipped and unzipped size of each function's code, by construct path. */
  readonly sizes = new Map<string, { zipBytes: number; unzippedBytes: number }>();

  constructor() {
    this.dir = mkdtempSync(path.join(tmpdir(), 'custody-lambda-'));
    chmodSync(this.dir, 0o755);
    this.nodeDir = extractNode(nodeTarball(), path.join(this.dir, 'lang'));
    this.runtimeDir = path.join(this.dir, 'runtime');
    mkdirSync(this.runtimeDir, { mode: 0o755 });
    for (const [from, to] of [
      ['runtime-stand-in.mjs', 'index.mjs'],
      ['extensions-api.mjs', 'extensions-api.mjs'],
    ] as const) {
      copyFileSync(path.join(import.meta.dirname, from), path.join(this.runtimeDir, to));
      chmodSync(path.join(this.runtimeDir, to), 0o644);
    }
    // Lambda's user has an entry (home /home/sbx_user1051, which does not exist) though HOME is
    // unset: os.homedir() answers from it, as the AWS SDK's config loader relies on.
    this.passwdFile = path.join(this.dir, 'passwd');
    this.groupFile = path.join(this.dir, 'group');
    writeFileSync(
      this.passwdFile,
      `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\nsbx_user1051:x:${SANDBOX_UID}:${SANDBOX_GID}::/home/sbx_user1051:/sbin/nologin\n`,
    );
    writeFileSync(
      this.groupFile,
      `${readFileSync('/etc/group', 'utf8').trimEnd()}\nsbx_user1051:x:${SANDBOX_GID}:\n`,
    );
    chmodSync(this.passwdFile, 0o644);
    chmodSync(this.groupFile, 0o644);
  }

  /** The function's code as Lambda would hold it: zipped like the CLI, unzipped with modes. */
  taskDir(fn: AssemblyFunction): string {
    const known = this.tasks.get(fn.assetDir);
    if (known) return known;
    const name = `task-${this.tasks.size}`;
    const zip = zipAssetDirectory(fn.assetDir);
    writeFileSync(path.join(this.dir, `${name}.zip`), zip);
    const dir = path.join(this.dir, name);
    const unzippedBytes = extractAssetZip(zip, dir).reduce((sum, e) => sum + e.bytes, 0);
    this.sizes.set(fn.constructPath, { zipBytes: zip.length, unzippedBytes });
    this.tasks.set(fn.assetDir, dir);
    return dir;
  }

  /** A new, not yet started execution environment of the function at `memoryMiB`. */
  environment(
    fn: AssemblyFunction,
    memoryMiB = fn.memoryMiB,
    extraEnv: Readonly<Record<string, string>> = {},
  ): ExecutionEnvironment {
    return new ExecutionEnvironment({
      nodeDir: this.nodeDir,
      runtimeDir: this.runtimeDir,
      taskDir: this.taskDir(fn),
      env: { ...lambdaEnvironment(fn, memoryMiB), ...extraEnv },
      nodeFlags: lambdaNodeFlags(memoryMiB),
      memoryMiB,
      passwdFile: this.passwdFile,
      groupFile: this.groupFile,
      name: `custody-lambda-${process.pid}-${this.count++}`,
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
