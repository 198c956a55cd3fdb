/**
 * The token rules of secretlint's recommended preset (`@secretlint/secretlint-rule-preset-recommend`,
 * MIT, maintained by the secretlint project: AWS, GCP, private keys, npm, basic auth, Slack, SendGrid,
 * Shopify, GitHub, GitLab, Grafana, OpenAI, Anthropic, Groq, Hugging Face, Linear, Notion, 1Password,
 * database connection strings, HashiCorp Vault, Vercel, Databricks, Docker, Figma), run by custody's
 * own engine: synchronously (each rule's `file` handler is a plain function), on any text, and
 * without the preset's comment filter (a `secretlint-disable` comment in a caller's code must not
 * switch the scan off). Its AWS rule is left out too: custody's own AWS rules (credential-scan.ts)
 * take its place, because the preset's reports the secret access key's range from the start of the
 * assignment (redaction would keep the end of the key) and flags role and account ids, which are
 * not credentials. Only what a rule found and where is kept, never its message (which quotes
 * the credential).
 */
import { rules } from '@secretlint/secretlint-rule-preset-recommend';

/** One finding: the rule (without the `@secretlint/secretlint-rule-` prefix) and its [start, end). */
export interface RuleMatch {
  readonly kind: string;
  readonly start: number;
  readonly end: number;
}

interface ReportDescriptor {
  readonly range: readonly [number, number];
}

interface SourceLike {
  readonly content: string;
  readonly filePath: string;
  readonly ext: string;
  readonly contentType: 'text';
}

interface RuleContextLike {
  readonly sharedOptions: Record<string, never>;
  createTranslator(): (messageId: string) => { message: string; messageId: string };
  report(descriptor: ReportDescriptor): void;
  ignore(): void;
}

interface RuleLike {
  readonly meta: { readonly id: string; readonly type: string };
  create(
    context: RuleContextLike,
    options: Record<string, unknown>,
  ): { file?: (source: SourceLike) => unknown };
}

const PREFIX = '@secretlint/secretlint-rule-';
const LEFT_OUT = new Set(['@secretlint/secretlint-rule-filter-comments', '@secretlint/secretlint-rule-aws']);

const SCANNERS = (rules as unknown as readonly RuleLike[]).filter(
  (rule) => rule.meta.type === 'scanner' && !LEFT_OUT.has(rule.meta.id),
);

/** The kinds this preset can report, for documentation and tests. */
export const SECRETLINT_KINDS: readonly string[] = SCANNERS.map((rule) => rule.meta.id.slice(PREFIX.length));

/** Every range a preset rule reports in `text`. */
export function secretlintMatches(text: string): RuleMatch[] {
  const found: RuleMatch[] = [];
  const source: SourceLike = { content: text, filePath: 'input.txt', ext: '.txt', contentType: 'text' };
  for (const rule of SCANNERS) {
    const kind = rule.meta.id.startsWith(PREFIX) ? rule.meta.id.slice(PREFIX.length) : rule.meta.id;
    const context: RuleContextLike = {
      sharedOptions: {},
      createTranslator: () => (messageId: string) => ({ message: messageId, messageId }),
      report: ({ range }) => found.push({ kind, start: range[0], end: range[1] }),
      ignore: () => {},
    };
    const handlers = rule.create(context, {});
    const pending = handlers.file?.(source);
    // A rule that answers later (GCP's PKCS#12 check reads a binary file) has nothing to say about text.
    if (pending instanceof Promise) pending.catch(() => {});
  }
  return found;
}
