/** Shared fixtures of the sandbox suites: a canary environment, file and loopback listener. */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type {
  Language,
  Sandbox,
  SandboxLimits,
  SandboxRequest,
  SandboxResult,
} from '../../lambda/core/types.ts';

export const LIMITS: SandboxLimits = { timeoutMs: 5_000, memoryMiB: 64, maxOutputBytes: 4_096 };

export interface Canaries {
  readonly envName: string;
  readonly envValue: string;
  readonly dir: string;
  readonly readablePath: string;
  readonly fileContent: string;
  readonly writablePath: string;
  readonly port: number;
  connections(): number;
  /** True if any canary value shows up in the result's text. */
  leakedInto(result: SandboxResult): boolean;
  dispose(): Promise<void>;
}

export async function makeCanaries(): Promise<Canaries> {
  const envName = `CUSTODY_CANARY_${randomUUID().replaceAll('-', '_')}`;
  const envValue = `env-canary-${randomUUID()}`;
  process.env[envName] = envValue;
  const dir = mkdtempSync(join(tmpdir(), 'custody-canary-'));
  const readablePath = join(dir, 'secret.txt');
  const fileContent = `file-canary-${randomUUID()}`;
  writeFileSync(readablePath, fileContent);
  const writablePath = join(dir, 'written-by-sandbox.txt');
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections += 1;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no listener address');
  return {
    envName,
    envValue,
    dir,
    readablePath,
    fileContent,
    writablePath,
    port: address.port,
    connections: () => connections,
    leakedInto: (result) => {
      const text = JSON.stringify(result);
      return text.includes(envValue) || text.includes(fileContent);
    },
    dispose: async () => {
      delete process.env[envName];
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function hostFileExists(path: string): boolean {
  return existsSync(path);
}

let counter = 0;
export function request(
  language: Language,
  code: string,
  extra: Partial<SandboxRequest> = {},
): SandboxRequest {
  counter += 1;
  return { executionId: `test-${counter}`, language, code, limits: LIMITS, ...extra };
}

/** The boundary held is half the claim; the other half is that the sandbox still works. */
export async function expectStillWorks(sandbox: Sandbox, language: Language): Promise<void> {
  const code = language === 'python' ? '6 * 7' : '6 * 7';
  const result = await sandbox.run(request(language, code));
  expect(result.status).toBe('succeeded');
  expect(result.status === 'succeeded' ? result.result : undefined).toBe('42');
}
