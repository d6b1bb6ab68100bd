import { defineConfig } from 'vitest/config';

const BROWSER_TESTS = 'test/*.browser.test.ts';

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    // Integration tests start real servers (InfluxDB, Mosquitto, Vigil) on loopback: give them time on a busy
    // two-core machine, and run files in separate processes so that each owns its ports and temp dirs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['test/support/require-build.ts'],
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'node', include: ['**/*.test.ts'], exclude: ['node_modules/**', 'dist/**', BROWSER_TESTS] } },
      // A browser test runs a Vigil and a Chromium: two of them side by side on two cores starve each other's
      // timers, so they take turns while the other tests run beside them.
      { extends: true, test: { name: 'browser', include: [BROWSER_TESTS], fileParallelism: false } },
    ],
    coverage: {
      provider: 'v8',
      include: ['domain/**', 'state/**', 'registry/**', 'gateway/**', 'ingest/**', 'nightscout/**', 'reports/**', 'careloop/**', 'interop/**', 'dashboard/**', 'simulators/**', 'lifecycle/**', 'app/**', 'cli/**'],
      exclude: ['**/*.test.ts'],
      reporter: ['text-summary'],
    },
  },
});
