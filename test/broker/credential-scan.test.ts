import { describe, expect, it } from 'vitest';
import {
  redactCredentials,
  scanForCredentials,
  shannonEntropy,
} from '../../lambda/broker/credential-scan.ts';

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
