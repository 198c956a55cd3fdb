import { describe, expect, it } from 'vitest';
import {
  redactCredentials,
  scanForCredentials,
  shannonEntropy,
  storableText,
} from '../../lambda/broker/credential-scan.ts';
import { TOKENS } from './credential-fixtures.ts';

// Fixtures are assembled at run time so that no credential-shaped literal sits in the repository.
const join = (...parts: string[]) => parts.join('');
const AWS_KEY_ID = join('AKIA', 'Q3EGRJ7XZ2LMNPTW');
const AWS_TEMP_KEY_ID = join('ASIA', 'Y5RCDKQ2W7MVBN4H');
const AWS_SECRET = join('k9Pz/3QwXr7Tn+2VbLm8', 'Hs4JdFg6YcUe1AoKiWtR');
const GITHUB_PAT = join('ghp', '_', 'R7kQ2mZx9LpW4vBn8TcY3hJd6FsG1aUeXo0N');
const GITHUB_FINE = join(
  'github',
  '_pat_',
  '11ABCDEFG0',
  'x'.repeat(20),
  '_',
  'Qw3Er5Ty7Ui9Op1As3Df5Gh7Jk9Lz2Xc4Vb6Nm8Qw0Er2Ty4Ui6Op',
);
const SLACK = join('xox', 'b-', '2048-1234567890-AbCdEfGhIjKlMnOp');
const STRIPE = join('sk', '_live_', '51HqLyjWDarjtT1zdp7dc');
const GOOGLE = join('AI', 'za', 'SyD3m9Qx7Lp2Wv5Tn8Rb4Hc6Jf1Kg0Ys_Ue');
const JWT = join(
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9',
  '.',
  'eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkFkYSJ9',
  '.',
  'Sfl7KxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
);
const PEM = join(
  '-----BEGIN ',
  'RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7\nabc\n-----END RSA ',
  'PRIVATE KEY-----',
);

describe('Hard-coded credential scanner', () => {
  it.each([
    ['an AWS access key id', `key = "${AWS_KEY_ID}"`, 'aws-access-key-id'],
    ['an AWS temporary access key id', `id=${AWS_TEMP_KEY_ID}`, 'aws-access-key-id'],
    [
      'an AWS secret key assigned to aws_secret_access_key',
      `aws_secret_access_key = "${AWS_SECRET}"`,
      'aws-secret-access-key',
    ],
    [
      'an AWS secret key in a camelCase object field',
      `{ secretAccessKey: '${AWS_SECRET}' }`,
      'aws-secret-access-key',
    ],
    ['a PEM private key block', `key = """${PEM}"""`, 'private-key'],
    ['an OpenSSH private key header', join('-----BEGIN OPENSSH ', 'PRIVATE KEY-----\nb3Blbn'), 'private-key'],
    ['a GitHub personal access token', `token = "${GITHUB_PAT}"`, 'github-token'],
    ['a GitHub fine-grained token', `headers = {"Authorization": "Bearer ${GITHUB_FINE}"}`, 'github-token'],
    ['a Slack bot token', `client = WebClient("${SLACK}")`, 'slack-token'],
    ['a Stripe live key', `stripe.api_key = '${STRIPE}'`, 'stripe-live-key'],
    ['a Google API key', `const k = "${GOOGLE}";`, 'google-api-key'],
    ['a JWT', `auth = "${JWT}"`, 'jwt'],
    ['a high-entropy password literal', `db_password = "xT9#qL2!vR7zK4p"`, 'secret-assignment'],
    ['a high-entropy token in a dict', `{"api_key": "q8ZrT3vLm9XkP2wYh7NcB4s"}`, 'secret-assignment'],
    ['a camelCase client secret', `const clientSecret = 'Zp4Qw8Lr2Xv6Tn9Bm3Hk7Jd';`, 'secret-assignment'],
    ['an environment-style SECRET_KEY', `SECRET_KEY = 'r9$Kx2!mZ7@qL4#vT8&wN3'`, 'secret-assignment'],
  ])('finds %s', (_label, code, kind) => {
    expect(scanForCredentials(code).map((f) => f.kind)).toContain(kind);
  });

  it.each([
    ['a secret read from the environment', 'token = os.environ["REPORT_API_TOKEN"]'],
    ['a secret read from process.env', 'const apiKey = process.env.API_KEY;'],
    ['an empty password', 'password = ""'],
    ['a placeholder', 'api_key = "YOUR_API_KEY_HERE_PLEASE"'],
    ['a template placeholder', `token = "${'${'}TOKEN_FROM_VAULT_12345}"`],
    ['a low-entropy word', 'password = "password"'],
    ['a tokenizer name (token is not the end of the name)', 'tokenizer = "bert-base-uncased-v2"'],
    ['a password hint', 'password_hint = "first pet plus year"'],
    ['a git commit hash not named like a secret', 'commit = "3f786850e387550fdab836ed7e6dc881de23001b"'],
    ['a UUID request id', 'request_id = "0b8e8a0e-3c1d-4f5e-9a7b-2c4d6e8f0a1b"'],
    ['an AWS role id (not a credential)', 'role = "AROAQ3EGRJ7XZ2LMNPTW"'],
    ['a short AKIA-like word', 'print("AKIA is a prefix")'],
    ['a sentence mentioning secrets', 'print("the secret token is stored in Secrets Manager")'],
    [
      'base64 data under an ordinary name',
      'image = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"',
    ],
    ['a comparison with a literal', 'if token == "expected-value-xyz123456": pass'],
    ['a public certificate', join('-----BEGIN ', 'CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----')],
    ['ordinary arithmetic code', 'import math\nprint(sum(i * i for i in range(10)))\nmath.sqrt(2)'],
  ])('does not flag %s', (_label, code) => {
    expect(scanForCredentials(code)).toEqual([]);
  });

  it('reports the line of each finding, never the value', () => {
    const findings = scanForCredentials(`a = 1\nb = 2\nkey = "${AWS_KEY_ID}"\n`);
    expect(findings).toEqual([{ kind: 'aws-access-key-id', line: 3 }]);
    expect(JSON.stringify(findings)).not.toContain(AWS_KEY_ID);
  });

  it('redacts credential values and keeps the name they were assigned to', () => {
    const { text, count } = redactCredentials(`aws_secret_access_key=${AWS_SECRET}\nid ${AWS_KEY_ID}`);
    expect(text).toBe(
      'aws_secret_access_key=[REDACTED:aws-secret-access-key]\nid [REDACTED:aws-access-key-id]',
    );
    expect(count).toBe(2);
  });

  it('redacts a whole private key block', () => {
    const { text } = redactCredentials(`before\n${PEM}\nafter`);
    expect(text).toBe('before\n[REDACTED:private-key]\nafter');
  });

  it('measures entropy in bits per character', () => {
    expect(shannonEntropy('aaaa')).toBe(0);
    expect(shannonEntropy('abcd')).toBe(2);
  });
});

describe('Hard-coded credentials written to dodge a scan (issue #12, class 8)', () => {
  const [akia, rest] = [AWS_KEY_ID.slice(0, 4), AWS_KEY_ID.slice(4)];
  it.each([
    ['a \\u escape in JavaScript', `const k = "\\u0041${AWS_KEY_ID.slice(1)}";`],
    ['a \\u{} escape', `const k = "\\u{41}${AWS_KEY_ID.slice(1)}";`],
    ['a \\x escape in Python', `k = "\\x41${AWS_KEY_ID.slice(1)}"`],
    [
      'every character escaped',
      `k = "${[...AWS_KEY_ID].map((c) => `\\x${c.charCodeAt(0).toString(16)}`).join('')}"`,
    ],
    ["Python's implicit concatenation", `k = '${akia}' '${rest}'`],
    ['a + concatenation over two lines', `const k = "${akia}" +\n  "${rest}";`],
    ['a line continuation between Python literals', `k = '${akia}' \\\n    '${rest}'`],
    ['an empty template interpolation', `const k = \`${akia}\${""}${rest}\`;`],
    ['a literal template interpolation', `const k = \`${akia}\${'${rest.slice(0, 4)}'}${rest.slice(4)}\`;`],
    ['a GitLab token split in two', `t = "glpat-" + "${TOKENS.gitlab.slice(6)}"`],
    [
      'an OpenAI key split in three',
      `k = "${TOKENS.openai.slice(0, 30)}" "${TOKENS.openai.slice(30, 100)}" "${TOKENS.openai.slice(100)}"`,
    ],
  ])('finds an AWS-style key hidden by %s', (_label, code) => {
    expect(scanForCredentials(code).length).toBeGreaterThan(0);
  });

  it.each([
    ['ordinary concatenation', `greeting = 'hello' + ' ' + 'world'`],
    ['ordinary escapes', 'print("caf\\u00e9\\n\\t\\x41")'],
    ['an empty interpolation in ordinary text', `const s = \`total: $\{""}$\{n}\`;`],
    ['an AWS-looking prefix joined to a short word', `k = '${akia}' + 'IS A PREFIX'`],
    ['escaped letters that spell no key', 'k = "\\u0041\\x42CDEFGHIJKLMNOPQRST"'],
    ["Python's implicit concatenation of a message", `msg = ('the key ' 'is rotated daily')`],
    ['a line continuation in ordinary text', `msg = 'first half ' \\\n    'second half'`],
    ['a literal interpolation of a word', `const s = \`${akia}$\{'-'}${rest}\`;`],
    ['a key id cut by a variable (folded only between literals)', `k = '${akia}' + x + '${rest}'`],
    ['a GitLab prefix joined to too little', `t = "glpat-" + "abc"`],
  ])('does not flag %s', (_label, code) => {
    expect(scanForCredentials(code)).toEqual([]);
  });
});

describe('storableText', () => {
  it('keeps a field without a credential as it is', () => {
    expect(storableText('weekly report for finance')).toBe('weekly report for finance');
  });

  it('redacts a credential it can locate, keeping the rest', () => {
    expect(storableText(`run with ${AWS_KEY_ID} please`)).toBe(
      'run with [REDACTED:aws-access-key-id] please',
    );
  });

  it('replaces a field whose credential only the folded view shows by a marker and a digest', () => {
    const text = `'${AWS_KEY_ID.slice(0, 8)}' '${AWS_KEY_ID.slice(8)}'`;
    const stored = storableText(text);
    expect(stored).toMatch(/^\[REDACTED:aws-access-key-id sha256:[0-9a-f]{64}\]$/);
    expect(stored).not.toContain(AWS_KEY_ID.slice(8));
  });
});

describe('scan time', () => {
  const MB = 1 << 20;
  const fill = (unit: string) => unit.repeat(Math.ceil(MB / unit.length)).slice(0, MB);
  it.each([
    [
      'random printable text',
      Array.from({ length: MB }, (_, i) => String.fromCharCode(32 + ((i * 7919) % 95))).join(''),
    ],
    ['one long word', fill('a')],
    ['Slack token prefixes', fill('xoxb-a')],
    ['database URL starts', fill('postgres://u:')],
    ['quotes', fill("'")],
    ['adjacent literals', fill("'a' ")],
    ['escapes', fill('\\u0041')],
    ['empty interpolations', fill(`$\{""}`)],
    ['assignment openings', fill('a_password="')],
    ['private key headers', fill('-----BEGIN PRIVATE KEY-----')],
    ['JWT-like segments', fill('eyJaaaaaaaaa.')],
  ])('scans and redacts 1 MB of %s in bounded time', (_label, text) => {
    const started = performance.now();
    scanForCredentials(text);
    redactCredentials(text);
    storableText(text);
    // About 0.1-0.4 s on an idle machine; the bound leaves room for a loaded one, not for quadratic.
    expect(performance.now() - started).toBeLessThan(4000);
  });
});
