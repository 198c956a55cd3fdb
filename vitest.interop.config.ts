import { defineConfig } from 'vitest/config';

/**
 * `npm run test:interop`: checks against signers and tools `npm test` must not need (botocore
 * at /usr/bin/python3). `.ci/run` installs them, then runs this.
 */
export default defineConfig({
  test: {
    include: ['test/interop/**/*.interop.ts'],
    // As in vitest.config.ts: the SDK's notice about Node < 22, once per file, is noise here.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    allowOnly: false,
  },
});
