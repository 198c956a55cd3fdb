/**
 * Credential-shaped test values, assembled at run time so that no credential-shaped literal sits in
 * the repository (and so that no scanner of the repository trips over them).
 */
const join = (...parts: string[]) => parts.join('');
const alnum = (n: number, seed = 7) =>
  Array.from({ length: n }, (_, i) => 'aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0z'[(i * seed) % 31]).join('');

export const TOKENS = {
  openai: join('sk-', 'proj-', alnum(74), 'T3Blbk', 'FJ', alnum(74, 11)),
  openaiLegacy: join('sk-', alnum(20), 'T3Blbk', 'FJ', alnum(20, 13)),
  anthropic: join('sk-', 'ant-', 'api03-', alnum(93), 'AA'),
  slackWebhook: join('https://hooks.', 'slack.com/services/', 'T0A1B2C3D', '/B4E5F6G7H', '/', alnum(24)),
  npm: join('npm', '_', alnum(36)),
  gitlab: join('gl', 'pat-', alnum(20)),
  postgres: join('postgres', '://report_user:', 'Vq7Lm2Zx9Kp4', '@db.internal.example.com:5432/reports'),
  mysql: join('mysql', '://admin:', 'N8fT2qRw5Zy1', '@10.0.0.12:3306/app'),
} as const;

export const AWS_KEY_ID = join('AKIA', 'Q3EGRJ7XZ2LMNPTW');
