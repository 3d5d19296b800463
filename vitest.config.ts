import { defineConfig } from 'vitest/config';

// Two lanes. `unit` imports src/ and needs no rig, no QEMU guest and no bundle: it is the
// inner loop (`npm run test:unit`). `system` builds (or finds) the debian rig first, drives
// real QEMU under TCG and runs the bundled CLI in dist/, the way users run it.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // Run first and alone: a timing-sensitive console test must not share the CPU with a TCG guest.
          sequence: { groupOrder: 0 },
          include: ['test/unit/**/*.test.ts'],
          globalSetup: ['test/temp-setup.ts'],
          testTimeout: 30_000,
          // Mostly waiting on timers and sockets, not CPU: four files at once even on two cores.
          maxWorkers: 4,
        },
      },
      {
        test: {
          name: 'system',
          sequence: { groupOrder: 1 },
          include: ['test/system/**/*.test.ts'],
          globalSetup: ['test/temp-setup.ts', 'test/global-setup.ts'],
          // Boot tests drive real QEMU under TCG: minutes, not seconds.
          testTimeout: 30_000,
          hookTimeout: 600_000,
          // One QEMU at a time: two TCG guests on two cores starve each other's deadlines.
          fileParallelism: false,
        },
      },
    ],
  },
});
