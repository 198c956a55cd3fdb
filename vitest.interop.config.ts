import { defineConfig } from 'vitest/config';

/**
 * `npm run test:interop`: checks against signers and tools `npm test` must not need (botocore
 * at /usr/bin/python3). `.ci/run` installs them, then runs this.
 */
export default defineConfig({
  test: {
    include: ['test/interop/**/*.interop.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    maxWorkers: 1,
    allowOnly: false,
  },
});
