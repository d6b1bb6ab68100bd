import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'dist/**'],
    // Integration tests start real servers (InfluxDB, Mosquitto, Vigil) on loopback: give them time on a busy
    // two-core machine, and run files in separate processes so that each owns its ports and temp dirs.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    coverage: {
      provider: 'v8',
      include: ['domain/**', 'state/**', 'registry/**', 'gateway/**', 'ingest/**', 'dashboard/**', 'simulators/**', 'app/**', 'cli/**'],
      exclude: ['**/*.test.ts'],
      reporter: ['text-summary'],
    },
  },
});
