/**
 * The API a command calls: `--endpoint`, else CUSTODY_ENDPOINT, else the local server in
 * `.custody/local.json`; in the last case the region is the local server's and, unless
 * AWS_SHARED_CREDENTIALS_FILE says otherwise, the credentials are the local identities (profile
 * AWS_PROFILE, default `agent`).
 */
import { fromIni } from '@aws-sdk/credential-providers';
import { CustodyClient, type CustodyClientOptions, CustodyConfigError } from '../index.ts';
import type { CliIo } from './io.ts';
import { type LocalStack, localStack } from './local-home.ts';

/** `--endpoint URL --region NAME`, taken by every command that calls the API. */
export interface EndpointFlags {
  readonly endpoint?: string;
  readonly region?: string;
}

export interface Target {
  readonly client: CustodyClient;
  readonly local?: LocalStack;
}

export function connect(io: CliIo, flags: EndpointFlags): Target {
  const explicit = flags.endpoint ?? (io.env.CUSTODY_ENDPOINT?.trim() || undefined);
  if (explicit !== undefined) {
    const options: CustodyClientOptions = {
      endpoint: explicit,
      env: io.env,
      ...(flags.region ? { region: flags.region } : {}),
    };
    return { client: new CustodyClient(options) };
  }
  const local = localStack(io);
  if (!local) {
    throw new CustodyConfigError(
      'no custody endpoint: pass --endpoint, set CUSTODY_ENDPOINT, or start local mode with `npm start` (which writes .custody/local.json)',
    );
  }
  const credentials = io.env.AWS_SHARED_CREDENTIALS_FILE
    ? undefined
    : fromIni({ filepath: local.credentialsFile, profile: io.env.AWS_PROFILE || 'agent' });
  const options: CustodyClientOptions = {
    endpoint: local.apiEndpoint,
    region: flags.region ?? local.region,
    env: io.env,
    ...(credentials ? { credentials } : {}),
  };
  return { client: new CustodyClient(options), local };
}
