import { defineConfig } from 'vitest/config';

/**
 * `npm run test:package`: packs custody with `npm pack` and synthesizes an app outside the
 * repository that installs the tarball (test/package). Minutes of bundling, so not in `npm test`;
 * `.ci/run` runs it.
 */
export default defineConfig({
  test: {
    include: ['test/package/**/*.package.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 60_000,
    hookTimeout: 900_000,
    pool: 'forks',
    maxWorkers: 1,
    allowOnly: false,
  },
});
