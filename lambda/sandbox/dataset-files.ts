/**
 * #16: how the sandboxes present a call's dataset objects. Python gets real read-only files at
 * `/data/<name>/<key>` (written by `python-host.mjs`); JavaScript and TypeScript read the same paths
 * through the `files` API (`files.read('/data/<name>/<key>')`, text), and `files.list()` names
 * them. Nothing under `/data/` can be written.
 */
import type { SandboxRequest } from '../core/types.ts';

const DATA_ROOT = '/data/';

/** `/data/<name>/<key>` -> the object's bytes, decoded as UTF-8 text (the `files` API's inputs). */
export function datasetTextInputs(datasets: SandboxRequest['datasets']): Record<string, string> {
  const out = Object.create(null) as Record<string, string>;
  for (const [name, objects] of Object.entries(datasets ?? {})) {
    for (const [key, base64] of Object.entries(objects)) {
      out[`${DATA_ROOT}${name}/${key}`] = Buffer.from(base64, 'base64').toString('utf8');
    }
  }
  return out;
}

/** Why a write of `name` is refused when it aims at the datasets, else undefined. */
export function datasetWriteRefusal(name: string): string | undefined {
  return name === '/data' || name.startsWith(DATA_ROOT)
    ? `${JSON.stringify(name)} is a read-only dataset path; write output files under a relative name`
    : undefined;
}
