import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: CDK synth and sandbox suites are heavy; keep parallelism modest.
    maxWorkers: 2,
    allowOnly: false,
    // Gives the run a temp dir of its own and fails it on `custody-*` entries the tests leave there.
    globalSetup: ['test/support/temp-leftovers.ts'],
    // The AWS SDK warns once per process on Node < 22 that its releases after January 2027 will need
    // Node 22 (NodeVersionSupportWarning). It says nothing about custody, and each test file is its
    // own process, so it repeated ~15 times in `npm test`. The CLI (bin/custody.mjs) and `npm start`
    // (bin/local.ts) already opt out; child processes get it from test/e2e/support.ts's baseEnv().
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
