/**
 * The custody package's entry point (`import { CustodyConstruct, loadPolicyFile } from 'custody'`):
 * the construct and its props, the stack around it, the app helper `bin/app.ts` uses, and what a
 * team needs to build a policy for them. TypeScript and JavaScript only (ESM; not a jsii library).
 */
export { PolicyFileError } from '../lambda/core/errors.ts';
export {
  DEFAULT_POLICY_FILE,
  loadPolicyFile,
  type Policy,
  type Principal,
  type Profile,
  parsePolicy,
} from '../lambda/core/policy.ts';
export {
  AUDIT_LOG_GROUP_OUTPUT,
  AUDIT_SIGNING_KEY_OUTPUT,
  AUDIT_TABLE_OUTPUT,
  roleNameOutputKey,
} from '../lambda/core/stack-outputs.ts';
export type { AlarmNotificationSettings } from './alarm-notifications.ts';
export type { CustodyApiThrottle } from './api.ts';
export { ArchitectureError, type FunctionArchitecture } from './bundling/architecture.ts';
export { addCustodyStack, DEFAULT_STACK_NAME } from './custody-app.ts';
export { CustodyConstruct, type CustodyConstructProps } from './custody-construct.ts';
export { CustodyStack, type CustodyStackProps } from './custody-stack.ts';
export type { DnsControl } from './network.ts';
