/**
 * How a zod issue reads in an error message: `where: what`, where `where` is the issue's path
 * (`profiles.reports.roleArn`, `principals[0].grants[1]`, `files["../x"]`). Every schema at an
 * edge (request bodies, the policy, the deployment, executor events and answers) reports through
 * this, so a wrong field is named the same way everywhere.
 */
import type { z } from 'zod';

export interface IssuePathStyle {
  /** What the path reads as when it is empty (the issue is about the whole document). */
  readonly root: string;
  /**
   * Write keys that are not identifiers as `["key"]` (`files["a/b.txt"]`), not `.key`.
   * @default false
   */
  readonly quoteKeys?: boolean;
}

/** `a.b[0].c`, or `a["x/y"]` with `quoteKeys`; `root` for an empty path. */
export function formatIssuePath(path: readonly PropertyKey[], style: IssuePathStyle): string {
  let out = '';
  for (const part of path) {
    const key = String(part);
    if (typeof part === 'number') out += `[${part}]`;
    else if (out === '') out = key;
    else if (style.quoteKeys && !/^[A-Za-z_]\w*$/.test(key)) out += `[${JSON.stringify(key)}]`;
    else out += `.${key}`;
  }
  return out === '' ? style.root : out;
}

/** `path: message` for one issue. */
function formatIssue(issue: z.core.$ZodIssue, style: IssuePathStyle): string {
  return `${formatIssuePath(issue.path, style)}: ${issue.message}`;
}

/** `path: message` for the first issue of a failed parse (the one a caller fixes first). */
export function firstIssue(error: z.ZodError, style: IssuePathStyle): string {
  const issue = error.issues[0];
  return issue === undefined ? `${style.root}: invalid` : formatIssue(issue, style);
}

/** `path: message` for every issue of a failed parse. */
export function allIssues(error: z.ZodError, style: IssuePathStyle): string[] {
  return error.issues.map((issue) => formatIssue(issue, style));
}
