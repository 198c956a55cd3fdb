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
  },
});
