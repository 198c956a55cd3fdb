/**
 * `npm start`: custody's signed API on 127.0.0.1:8787 with no AWS account (see docs/local.md).
 * Thin: read the configuration, start the local server, print how to call it, stop on Ctrl-C.
 */
import { localConfigFromEnv } from '../lambda/adapters/local/config.ts';
import { displayPath, startLocalServer } from '../lambda/handlers/local-server.ts';
import type { SnapshotEvent } from '../lambda/sandbox/python-snapshot-cache.ts';
import { prepareLocalPythonPackages } from '../lib/bundling/local-python-packages.ts';

function quote(value: string): string {
  return /^[\w./:=@-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * Start-up progress of the Python snapshot: built once (seconds; a line every 5 s while it lasts),
 * then reused by every later start.
 */
function snapshotProgress(): (event: SnapshotEvent) => void {
  let ticker: NodeJS.Timeout | undefined;
  const say = (line: string) => process.stdout.write(`custody: ${line}\n`);
  return (event) => {
    const path = quote(displayPath(event.path));
    switch (event.kind) {
      case 'building': {
        say(`building the Python snapshot ${path} (once per Pyodide/Deno version; takes a few seconds)...`);
        const started = Date.now();
        ticker = setInterval(
          () => say(`  still building (${Math.round((Date.now() - started) / 1000)} s)...`),
          5_000,
        );
        ticker.unref();
        break;
      }
      case 'built':
        clearInterval(ticker);
        say(
          `Python snapshot built in ${(event.ms / 1000).toFixed(1)} s (${Math.round(event.bytes / 1e6)} MB)`,
        );
        break;
      case 'reused':
        say(`Python snapshot reused: ${path}`);
        break;
      case 'rejected':
        clearInterval(ticker);
        say(`Python snapshot ${path} not trusted (${event.reason}): rebuilding`);
        break;
    }
  };
}

async function main(): Promise<void> {
  // The SDK's notice about future Node versions is not the user's concern while serving locally.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const config = localConfigFromEnv();
  const startedMs = Date.now();
  const server = await startLocalServer({
    ...config,
    onSnapshot: snapshotProgress(),
    preparePythonPackages: (policy, dir) => prepareLocalPythonPackages(policy, { dir }),
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`custody: ${signal} received, stopping...\n`);
    server.close().then(
      () => {
        process.stdout.write('custody: stopped.\n');
        process.exit(0);
      },
      (error: unknown) => {
        process.stderr.write(`custody: error while stopping: ${(error as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Ctrl-C while the snapshot builds stops the server too (the handlers are already in place).
  // Ready means ready for Python too: its first run must not wait seconds for the snapshot.
  await server.pythonReady;
  if (stopping) return;
  const creds = quote(displayPath(server.paths.credentialsFile));
  const home = displayPath(server.paths.home);
  const homeEnv = config.home ? `CUSTODY_HOME=${quote(home)} ` : '';
  const agent = server.identities.find((i) => i.profileName === 'agent') ?? server.identities[0];
  const firstProfile = Object.keys(server.policy.profiles)[0] ?? 'sandbox';
  const lines = [
    `custody local mode: signed API on ${server.url} (region ${server.region}), ready in ${Date.now() - startedMs} ms`,
    `  identities  ${creds}${server.generatedKeys ? ' (new keys generated)' : ''}: ${server.identities
      .map((i) => i.profileName)
      .join(', ')}`,
    `  audit       dynalite ${server.info.dynamodbEndpoint} table ${server.info.auditTableName}, log ${quote(displayPath(server.paths.auditLog))}`,
    `  datasets    s3 ${server.info.s3Endpoint ?? '(none)'} (samples from local/datasets)`,
    `  stack info  ${quote(displayPath(server.paths.localJson))}`,
    '',
    'Run code as the agent (in another terminal):',
    `  ${homeEnv}AWS_SHARED_CREDENTIALS_FILE=${creds} AWS_PROFILE=${agent?.profileName ?? 'agent'} npx custody run --profile ${firstProfile} --language python -c 'print(6 * 7)'`,
  ];
  if (agent) {
    // Never the keys themselves: the banner lands in terminals' scrollback and in logs. The
    // example reads them from the credentials file into shell variables.
    const section = agent.profileName.replace(/[^\w-]/g, '');
    const read = (key: string) => `$(sed -n '/^\\[${section}\\]/,/^\\[/s/^${key} = //p' ${creds})`;
    const token = agent.sessionToken ? ' -H "x-amz-security-token: $TOKEN"' : '';
    lines.push(
      `or with curl (keys of [${section}] read from the file):`,
      `  AK=${read('aws_access_key_id')} SK=${read('aws_secret_access_key')}${agent.sessionToken ? ` TOKEN=${read('aws_session_token')}` : ''}`,
      `  curl -s -w '\\n' --aws-sigv4 aws:amz:${server.region}:execute-api --user "$AK:$SK"${token} -H 'content-type: application/json' -d '{"profile":"${firstProfile}","language":"javascript","code":"console.log(6 * 7)"}' ${server.url}/v1/executions`,
    );
  }
  lines.push('', `Ctrl-C stops the server; audit history is kept in ${quote(home)}.`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`custody: ${(error as Error).message}\n`);
  process.exit(1);
});
