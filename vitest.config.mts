import { defineConfig } from 'vitest/config';

// Tests by what they need. unit: pure, in-process, nothing started. build: the Bicep compiler, the
// bundler, the studio and connector generation. component: classes in-process against the shared
// Azurite and the emulator. system: hosts started, spoken to over HTTP, and the browser.
// `npm test` runs them all; `vitest run --project NAME` runs one.
const withStorage = { globalSetup: ['test/support/globalSetup.ts'] };

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each system file starts its own host process; two cores run two files at a time well.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'build', include: ['test/build/**/*.test.ts'] } },
      { extends: true, test: { name: 'component', include: ['test/component/**/*.test.ts'], ...withStorage } },
      { extends: true, test: { name: 'system', include: ['test/system/**/*.test.ts'], ...withStorage } },
    ],
  },
});
