/**
 * Requests signed by botocore's SigV4Auth (the AWS SDK for Python's signer, one this project did not
 * write), for `npm run test:interop` only: it needs botocore at /usr/bin/python3 (Debian's awscli
 * bundles it), which `.ci/run` installs and `npm test` must not need.
 */
import { existsSync } from 'node:fs';
import { runProcess, type SignedRequest } from '../e2e/support.ts';

/** Debian's awscli bundles botocore under awscli (importing awscli puts it on the path). */
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const BOTOCORE_SCRIPT = `
import json, sys
try:
    import awscli  # Debian's awscli: makes its bundled botocore importable as botocore
except ImportError:
    pass
import urllib.request, urllib.error
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
a = json.loads(sys.argv[1])
creds = Credentials(a["accessKeyId"], a["secretAccessKey"], a.get("sessionToken"))
body = a.get("body")
req = AWSRequest(method=a["method"], url=a["url"], data=body.encode() if body is not None else None,
                 headers={"content-type": "application/json"} if body is not None else {})
SigV4Auth(creds, "execute-api", a.get("region", "us-east-1")).add_auth(req)
prepared = req.prepare()
r = urllib.request.Request(prepared.url, data=prepared.body, method=prepared.method, headers=dict(prepared.headers))
try:
    with urllib.request.urlopen(r) as resp:
        print(json.dumps({"status": resp.status, "body": resp.read().decode()}))
except urllib.error.HTTPError as e:
    print(json.dumps({"status": e.code, "body": e.read().decode()}))
`;

/** One request signed by botocore's SigV4Auth (a signer this project did not write). */
export async function botocore(request: SignedRequest): Promise<{ status: number; body: string }> {
  const out = await runProcess(PYTHON, [
    '-c',
    BOTOCORE_SCRIPT,
    JSON.stringify({
      accessKeyId: request.identity.accessKeyId,
      secretAccessKey: request.identity.secretAccessKey,
      sessionToken: request.identity.sessionToken,
      method: request.method,
      url: request.url,
      body: request.body,
      region: request.region,
    }),
  ]);
  if (out.code !== 0) throw new Error(`botocore script failed: ${out.stderr}`);
  return JSON.parse(out.stdout) as { status: number; body: string };
}
