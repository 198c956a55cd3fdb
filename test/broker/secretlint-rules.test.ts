/**
 * secretlint's recommended preset, run by custody's engine: each token kind the issue names is found
 * (and a near miss is not), the preset's comment filter cannot switch the scan off, and the preset
 * survives esbuild bundling the way the broker Lambda is bundled (NodejsFunction: ESM, node22,
 * `module` before `main`, minified).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { scanForCredentials } from '../../lambda/broker/credential-scan.ts';
import { SECRETLINT_KINDS, secretlintMatches } from '../../lambda/broker/secretlint-rules.ts';
import { TOKENS } from './credential-fixtures.ts';

describe('secretlint recommended rules in custody', () => {
  it.each([
    ['an OpenAI project key', `client = OpenAI(api_key="${TOKENS.openai}")`, 'openai'],
    ['an OpenAI legacy key', `key: '${TOKENS.openaiLegacy}'`, 'openai'],
    ['an Anthropic key', `Anthropic(api_key="${TOKENS.anthropic}")`, 'anthropic'],
    ['a Slack incoming webhook', `requests.post("${TOKENS.slackWebhook}", json=msg)`, 'slack'],
    ['an npm token', `//registry.npmjs.org/:_authToken=${TOKENS.npm}`, 'npm'],
    ['a GitLab personal access token', `headers = {"PRIVATE-TOKEN": "${TOKENS.gitlab}"}`, 'gitlab'],
    [
      'a PostgreSQL URL with a password',
      `engine = create_engine("${TOKENS.postgres}")`,
      'database-connection-string',
    ],
    ['a MySQL URL with a password', `const url = '${TOKENS.mysql}';`, 'database-connection-string'],
  ])('finds %s, not assigned to a suspicious name', (_label, code, kind) => {
    expect(secretlintMatches(code).map((m) => m.kind)).toContain(kind);
    expect(scanForCredentials(code).map((f) => f.kind)).toContain(kind);
  });

  it.each([
    ['an OpenAI-like prefix alone', 'model = "sk-proj-short"'],
    ['an Anthropic-like prefix alone', 'print("sk-ant-api03-xyz")'],
    ['the Slack webhook host without ids', 'url = "https://hooks.slack.com/services/"'],
    ['a short npm_ word', 'name = "npm_install_helper"'],
    ['a GitLab prefix too short', 'tag = "glpat-abc"'],
    ['a database URL without a password', 'url = "postgres://report_user@db.internal.example.com/reports"'],
    ['a database URL whose password is a variable', `url = f"postgres://u:${'${'}PASSWORD}@db/reports"`],
    ['a database URL with a placeholder password', 'url = "postgres://user:password@localhost/db"'],
  ])('does not flag %s', (_label, code) => {
    expect(scanForCredentials(code)).toEqual([]);
  });

  it('reports ranges that cover the token (for redaction)', () => {
    const text = `x ${TOKENS.gitlab} y`;
    const [match] = secretlintMatches(text);
    expect(match && text.slice(match.start, match.end)).toBe(TOKENS.gitlab);
  });

  it('ignores secretlint-disable comments in the scanned text', () => {
    const code = `# secretlint-disable\ntoken = "${TOKENS.gitlab}"\n# secretlint-enable`;
    expect(scanForCredentials(code).map((f) => f.kind)).toContain('gitlab');
  });

  it('runs every scanner of the preset but its AWS rule and comment filter', () => {
    expect(SECRETLINT_KINDS).toEqual(
      expect.arrayContaining(['openai', 'anthropic', 'slack', 'npm', 'gitlab']),
    );
    expect(SECRETLINT_KINDS).not.toContain('aws');
    expect(SECRETLINT_KINDS).not.toContain('filter-comments');
  });
});

describe('the credential scan bundled as the broker Lambda is bundled', () => {
  const dir = mkdtempSync(joinPath(tmpdir(), 'custody-scan-bundle-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles with esbuild and still finds what the preset finds', async () => {
    const out = await build({
      entryPoints: [joinPath(import.meta.dirname, '../../lambda/broker/credential-scan.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      minify: true,
      write: false,
      logLevel: 'silent',
    });
    expect(out.errors).toEqual([]);
    const file = joinPath(dir, 'credential-scan.mjs');
    writeFileSync(file, out.outputFiles[0]?.text ?? '');
    const bundled = (await import(
      pathToFileURL(file).href
    )) as typeof import('../../lambda/broker/credential-scan.ts');
    expect(bundled.scanForCredentials(`k = "${TOKENS.anthropic}"`).map((f) => f.kind)).toEqual(['anthropic']);
  });
});
