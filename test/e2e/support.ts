/**
 * Helpers for the end-to-end suites: a real local server in a temporary CUSTODY_HOME on a free
 * port, the real `custody` CLI as a child process, and independent SigV4 signers (curl, botocore,
 * the AWS SDK's signer).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';
import aws4 from 'aws4';
import type { LocalIdentity } from '../../lambda/adapters/local/identities.ts';
import type { AuditRecord } from '../../lambda/core/audit-record.ts';
import {
  type LocalServer,
  type LocalServerOptions,
  startLocalServer,
} from '../../lambda/handlers/local-server.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CUSTODY_BIN = join(ROOT, 'bin/custody.mjs');

export interface TestServer {
  readonly server: LocalServer;
  readonly home: string;
  identity(name: string): LocalIdentity;
  /** Environment for a CLI child process acting as `profile` against this server. */
  cliEnv(profile: string): NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

/** A clean environment: no AWS settings of the machine running the tests leak into a child. */
export function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('AWS_') && !k.startsWith('CUSTODY_')) env[k] = v;
  }
  env.AWS_EC2_METADATA_DISABLED = 'true';
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return env;
}

export async function startTestServer(options: LocalServerOptions = {}): Promise<TestServer> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'custody-e2e-'));
  const server = await startLocalServer({
    port: 0,
    policyFile: join(ROOT, 'custody.policy.json'),
    ...options,
    home,
  });
  return {
    server,
    home,
    identity(name) {
      const found = server.identities.find((i) => i.profileName === name);
      if (!found) throw new Error(`no local identity ${name}`);
      return found;
    },
    cliEnv(profile) {
      return { ...baseEnv(), CUSTODY_HOME: home, AWS_PROFILE: profile };
    },
    async stop() {
      await server.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

export interface ProcessResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runProcess(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<ProcessResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? baseEnv(),
      cwd: options.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Runs the real `custody` binary. */
export function custody(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<ProcessResult> {
  return runProcess(process.execPath, [CUSTODY_BIN, ...args], {
    env,
    ...(input !== undefined ? { input } : {}),
  });
}

/** curl with its own SigV4 signer; returns status and body. */
export async function curl(args: readonly string[]): Promise<{ status: number; body: string }> {
  const out = await runProcess('curl', ['-s', '-o', '-', '-w', '\n%{http_code}', ...args]);
  const cut = out.stdout.lastIndexOf('\n');
  return { status: Number(out.stdout.slice(cut + 1)), body: out.stdout.slice(0, cut) };
}

/** curl arguments signing as `identity` for the given region/service. */
export function curlSigv4(identity: LocalIdentity, region = 'us-east-1', service = 'execute-api'): string[] {
  return [
    '--aws-sigv4',
    `aws:amz:${region}:${service}`,
    '--user',
    `${identity.accessKeyId}:${identity.secretAccessKey}`,
    ...(identity.sessionToken ? ['-H', `x-amz-security-token: ${identity.sessionToken}`] : []),
  ];
}

/** A request for one of the independent signers below (aws4 here, botocore in test/interop). */
export interface SignedRequest {
  identity: LocalIdentity;
  method: 'GET' | 'POST';
  url: string;
  body?: string;
  region?: string;
}

/**
 * One request signed by `aws4` (mhart/aws4: an independent SigV4 implementation from npm, not
 * written by the AWS SDK team), sent with fetch. What `npm test` uses; botocore's signer is
 * checked separately (`npm run test:interop`), where CI has installed it.
 */
export async function aws4Signed(request: SignedRequest): Promise<{ status: number; body: string }> {
  const url = new URL(request.url);
  const signed = aws4.sign(
    {
      host: url.host,
      path: `${url.pathname}${url.search}`,
      method: request.method,
      service: 'execute-api',
      region: request.region ?? 'us-east-1',
      ...(request.body !== undefined
        ? { body: request.body, headers: { 'content-type': 'application/json' } }
        : {}),
    },
    {
      accessKeyId: request.identity.accessKeyId,
      secretAccessKey: request.identity.secretAccessKey,
      ...(request.identity.sessionToken ? { sessionToken: request.identity.sessionToken } : {}),
    },
  );
  const headers = Object.fromEntries(
    Object.entries(signed.headers ?? {})
      // fetch sets these itself (and refuses to be told Host).
      .filter(([name]) => !['host', 'content-length'].includes(name.toLowerCase()))
      .map(([name, value]) => [name, String(value)]),
  );
  const res = await fetch(url, {
    method: request.method,
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return { status: res.status, body: await res.text() };
}

/** A request signed by the AWS SDK signer, with hooks to tamper with it after signing. */
export async function sdkSigned(options: {
  identity: LocalIdentity | { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  url: string;
  method?: 'GET' | 'POST' | 'DELETE';
  body?: string;
  signingDate?: Date;
  userAgent?: string;
  tamper?: (request: { headers: Record<string, string>; body: string | undefined }) => void;
}): Promise<{ status: number; body: string }> {
  const url = new URL(options.url);
  const signer = new SignatureV4({
    service: 'execute-api',
    region: 'us-east-1',
    sha256: Sha256,
    credentials: options.identity,
  });
  const signed = await signer.sign(
    {
      method: options.method ?? 'POST',
      protocol: url.protocol,
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      query: {},
      headers: { host: url.host, 'content-type': 'application/json' },
      ...(options.body !== undefined ? { body: options.body } : {}),
    },
    options.signingDate ? { signingDate: options.signingDate } : {},
  );
  const request = { headers: { ...(signed.headers as Record<string, string>) }, body: options.body };
  options.tamper?.(request);
  const { host: _host, ...headers } = request.headers;
  if (options.userAgent) headers['user-agent'] = options.userAgent;
  const response = await fetch(options.url, {
    method: options.method ?? 'POST',
    headers,
    ...(request.body !== undefined ? { body: request.body } : {}),
  });
  return { status: response.status, body: await response.text() };
}

/** Waits until the store holds a record matching `predicate` (writes finish before responses, but be safe). */
export async function findRecord(
  list: () => Promise<AuditRecord[]>,
  predicate: (r: AuditRecord) => boolean,
): Promise<AuditRecord | undefined> {
  for (let i = 0; i < 20; i++) {
    const found = (await list()).find(predicate);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
  return undefined;
}

/** Runs `bin/local.ts` (what `npm start` runs) as a child and waits for its banner. */
export async function startServerProcess(env: NodeJS.ProcessEnv): Promise<{
  url: string;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number>;
  exited: Promise<number>;
}> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bin/local.ts')], {
    env,
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /signed API on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (m) resolveUrl(m[1] as string);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then((code) => reject(new Error(`server exited with ${code}: ${output}`)));
  });
  return {
    url,
    output: () => output,
    exited,
    stop: async (signal = 'SIGINT') => {
      child.kill(signal);
      return exited;
    },
  };
}
