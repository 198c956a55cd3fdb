/**
 * JavaScript packages end to end (#17): the local server, started on the example policy (whose
 * `sandbox` profile bundles papaparse), runs signed executions that import papaparse in
 * JavaScript and TypeScript, in the worker threads the server runs QuickJS in; a profile that
 * bundles nothing refuses the same import at run time, naming itself and how to add a package.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aws4Signed, startTestServer, type TestServer } from './support.ts';

let t: TestServer;

beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => t?.stop());

async function execute(profile: string, language: string, code: string): Promise<Record<string, unknown>> {
  const res = await aws4Signed({
    identity: t.identity('agent'),
    method: 'POST',
    url: `${t.server.url}/v1/executions`,
    body: JSON.stringify({ profile, language, code }),
  });
  expect(res.status).toBe(200);
  return JSON.parse(res.body) as Record<string, unknown>;
}

const CSV = 'region,amount\\neu,120\\nus,80\\neu,30';

describe('bundled JavaScript packages in local mode', () => {
  it('lets the sandbox profile import papaparse in JavaScript and parse a CSV', async () => {
    const answer = await execute(
      'sandbox',
      'javascript',
      `import Papa from "papaparse";
       const { data } = Papa.parse("${CSV}", { header: true, dynamicTyping: true });
       const totals = {};
       for (const row of data) totals[row.region] = (totals[row.region] ?? 0) + row.amount;
       console.log(JSON.stringify(totals));
       Papa.unparse(data.filter((row) => row.region === "eu"))`,
    );
    expect(answer).toMatchObject({
      status: 'succeeded',
      stdout: '{"eu":150,"us":80}\n',
      result: JSON.stringify('region,amount\r\neu,120\r\neu,30'),
    });
  });

  it('lets the sandbox profile import papaparse in TypeScript', async () => {
    const answer = await execute(
      'sandbox',
      'typescript',
      `import Papa from "papaparse";
       interface Row { region: string; amount: number }
       const rows = Papa.parse<Row>("${CSV}", { header: true, dynamicTyping: true }).data;
       rows.length`,
    );
    expect(answer).toMatchObject({ status: 'succeeded', result: '3' });
  });

  it('refuses the import in a profile that bundles no packages, and `import "fs"` everywhere', async () => {
    const unbundled = await execute('reports', 'javascript', 'import Papa from "papaparse";\nPapa');
    expect(unbundled).toMatchObject({ status: 'failed' });
    expect((unbundled.error as { message: string }).message).toBe(
      'cannot import "papaparse": it is not bundled; profile "reports" bundles no JavaScript packages. ' +
        'To add a package: npm i NAME, list it in the profile as "javascript": {"packages": ["NAME"]}, ' +
        'and deploy (locally: restart npm start)',
    );
    const fs = await execute(
      'sandbox',
      'javascript',
      'import { readFileSync } from "fs";\nreadFileSync("/etc/passwd", "utf8")',
    );
    expect(fs).toMatchObject({ status: 'failed' });
    expect((fs.error as { message: string }).message).toMatch(
      /^cannot import "fs": the sandbox has no Node built-ins \(no file system, no network\); profile "sandbox" bundles only papaparse/,
    );
  });
});
