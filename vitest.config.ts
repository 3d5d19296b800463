import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Boot tests drive real QEMU under TCG: minutes, not seconds.
    testTimeout: 30_000,
    hookTimeout: 600_000,
    // One QEMU at a time: two TCG guests on two cores starve each other's deadlines.
    fileParallelism: false,
  },
});
