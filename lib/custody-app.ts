/**
 * What `bin/app.ts` does, as a function the tests can call: read the policy file named by the
 * `policyFile` context (default `custody.policy.json`), validate it, and add the stack.
 */
import type { App } from 'aws-cdk-lib';
import { DEFAULT_POLICY_FILE, loadPolicyFile } from '../lambda/core/policy.ts';
import { ARCHITECTURE_CONTEXT_KEY, parseArchitecture } from './bundling/architecture.ts';
import { CustodyStack } from './custody-stack.ts';

/** Default stack name; override with `-c stackName=...`. */
export const DEFAULT_STACK_NAME = 'Custody';

/** Adds the custody stack to `app`. Throws PolicyFileError naming the file and the bad field. */
export function addCustodyStack(app: App): CustodyStack {
  const policyFile = contextString(app, 'policyFile') ?? DEFAULT_POLICY_FILE;
  const stackName = contextString(app, 'stackName') ?? DEFAULT_STACK_NAME;
  const architectureValue = contextString(app, ARCHITECTURE_CONTEXT_KEY);
  const architecture =
    architectureValue === undefined
      ? undefined
      : parseArchitecture(
          architectureValue,
          `Context ${ARCHITECTURE_CONTEXT_KEY} (-c ${ARCHITECTURE_CONTEXT_KEY}=...)`,
        );
  const policy = loadPolicyFile(policyFile);
  return new CustodyStack(app, stackName, {
    description: `custody: identity-bound code interpreter (policy ${policyFile})`,
    policy,
    ...(architecture ? { architecture } : {}),
    // Alarm notifications (lib/alarm-notifications.ts): -c alarmEmail=... and/or -c alarmTopicArn=...
    ...optionalContext(app, 'alarmEmail'),
    ...optionalContext(app, 'alarmTopicArn'),
  });
}

function contextString(app: App, key: string): string | undefined {
  const value: unknown = app.node.tryGetContext(key);
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value !== 'string')
    throw new Error(`Context ${key} must be a string, got ${JSON.stringify(value)}`);
  return value;
}

function optionalContext<K extends string>(app: App, key: K): Partial<Record<K, string>> {
  const value = contextString(app, key);
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
