import { defineConfig } from 'vitest/config';

// Two projects: unit tests run in-process with nothing started; integration tests get the shared
// Azurite (globalSetup) and start the host, the emulator and the stand-ins they need.
export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each integration file starts its own host process; two cores run two files at a time well.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'integration', include: ['test/integration/**/*.test.ts'], globalSetup: ['test/support/globalSetup.ts'] } },
    ],
  },
});
