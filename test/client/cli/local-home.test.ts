import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localStack } from '../../../client/cli/local-home.ts';

let project: string;
const info = (port: number) =>
  JSON.stringify({ apiEndpoint: `http://127.0.0.1:${port}`, region: 'us-east-1' });

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'custody-cli-home-'));
  mkdirSync(join(project, '.custody'));
  writeFileSync(join(project, '.custody', 'local.json'), info(4000));
  mkdirSync(join(project, 'src', 'deep'), { recursive: true });
  mkdirSync(join(project, 'other', '.custody'), { recursive: true });
  writeFileSync(join(project, 'other', '.custody', 'local.json'), info(5000));
});
afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('localStack', () => {
  it('finds .custody/local.json in a parent of the working directory', () => {
    expect(localStack({ cwd: join(project, 'src', 'deep'), env: {} })).toMatchObject({
      apiEndpoint: 'http://127.0.0.1:4000',
      home: join(project, '.custody'),
    });
  });

  it('takes the nearest one', () => {
    expect(localStack({ cwd: join(project, 'other'), env: {} })?.apiEndpoint).toBe('http://127.0.0.1:5000');
  });

  it('reads CUSTODY_HOME only, when it is set', () => {
    const env = { CUSTODY_HOME: join(project, 'other', '.custody') };
    expect(localStack({ cwd: join(project, 'src'), env })?.apiEndpoint).toBe('http://127.0.0.1:5000');
    expect(localStack({ cwd: join(project, 'src'), env: { CUSTODY_HOME: 'missing' } })).toBeUndefined();
  });

  it('is undefined when no parent has one', () => {
    expect(localStack({ cwd: tmpdir(), env: {} })).toBeUndefined();
  });
});
