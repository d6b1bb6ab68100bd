import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/** Vigil's version, from the package.json of the checkout or install it runs from (source or dist/). */
export function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'vigil' && pkg.version) return pkg.version;
    } catch {
      // not at this level: try the next one up
    }
  }
  return 'unknown';
}

/**
 * The metrics registry every component registers on. Node's process metrics keep prom-client's standard names
 * (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...), so stock Node.js dashboards and alerts work;
 * vigil_build_info says which version, Node and commit a scrape came from (docs/operations.md).
 */
export function createMetricsRegistry(build: { commit: string | undefined }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'vigil_build_info',
    help: 'Always 1; the labels say which Vigil version, Node.js version and source commit are running',
    labelNames: ['version', 'node_version', 'commit'] as const,
    registers: [registry],
  }).set({ version: packageVersion(), node_version: process.version, commit: build.commit ?? 'unknown' }, 1);
  return registry;
}
