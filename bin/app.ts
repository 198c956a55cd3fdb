/**
 * The CDK app: `npx cdk synth|deploy [-c policyFile=path/to/policy.json] [-c architecture=arm64]`.
 * A malformed policy file stops synth with a message naming the file and the bad field; a bad
 * architecture, with one naming the context key.
 */
import { App } from 'aws-cdk-lib';
import { ArchitectureError, addCustodyStack, PolicyFileError } from '../lib/index.ts';

const app = new App();
try {
  addCustodyStack(app);
} catch (err) {
  if (err instanceof PolicyFileError || err instanceof ArchitectureError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}
app.synth();
