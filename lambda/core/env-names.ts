/**
 * The names of the environment variables lib/ sets on the functions it deploys and the handlers
 * read at cold start: one place, so the two sides cannot drift apart.
 */

/** The broker Lambda: set by `lib/broker.ts`, read by `lambda/handlers/broker-config.ts`. */
export const BROKER_ENV = {
  auditTable: 'CUSTODY_AUDIT_TABLE',
  auditLogGroup: 'CUSTODY_AUDIT_LOG_GROUP',
  /** The policy file in the bundle. @default policy.json */
  policyFile: 'CUSTODY_POLICY_FILE',
  /** The deploy-time values the deployment file's ARNs are completed with (`Aws.ACCOUNT_ID`, `Aws.PARTITION`). */
  account: 'CUSTODY_ACCOUNT',
  partition: 'CUSTODY_PARTITION',
  /** The deployment file in the bundle. @default deployment.json */
  deploymentFile: 'CUSTODY_DEPLOYMENT_FILE',
  /** The resolved deployment inline, as JSON (tests and hand-made setups; wins over the file). */
  deployment: 'CUSTODY_DEPLOYMENT',
  /** Sessions (#15): the session table, the state bucket, and the session key (ARN) data keys come from. */
  sessionTable: 'CUSTODY_SESSION_TABLE',
  sessionBucket: 'CUSTODY_SESSION_BUCKET',
  sessionKeyArn: 'CUSTODY_SESSION_KEY_ARN',
} as const;

/** The scheduled digest function: set by `lib/audit.ts`, read by `lambda/handlers/digester.ts`. */
export const DIGESTER_ENV = {
  table: 'CUSTODY_AUDIT_TABLE',
  signingKeyId: 'CUSTODY_AUDIT_SIGNING_KEY_ID',
  logGroup: 'CUSTODY_AUDIT_LOG_GROUP',
  settleMs: 'CUSTODY_AUDIT_SETTLE_MS',
  timeShards: 'CUSTODY_AUDIT_TIME_SHARDS',
} as const;

/** The executor functions: set by `lib/executors.ts`, read by `lambda/handlers/executor.ts` and the sandboxes. */
export const EXECUTOR_ENV = {
  /** The profile this function runs (one executor per profile); for its logs. */
  profile: 'CUSTODY_PROFILE',
  /** Where the bundling put the sandbox runtimes. @default ${LAMBDA_TASK_ROOT}/runtime */
  runtimeDir: 'CUSTODY_RUNTIME_DIR',
  /** Pre-started Python processes, 0 to 8. @default 1 */
  prestartedProcesses: 'CUSTODY_PRESTARTED_PROCESSES',
  /** `0` turns the pre-start extension off. */
  prestartExtension: 'CUSTODY_PRESTART_EXTENSION',
  /** `1`: wait for the replacement process before returning (tests and benchmarks). */
  settleBeforeReturn: 'CUSTODY_SETTLE_BEFORE_RETURN',
} as const;
