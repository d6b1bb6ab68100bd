import type { FastifyInstance } from 'fastify';
import type { Registry as MetricsRegistry } from 'prom-client';
import { createNightscoutMetrics } from './metrics.js';
import { registerNightscoutRoutes, type NightscoutRouteOptions } from './routes.js';

export { nightscoutStatus, NIGHTSCOUT_API_LEVEL } from './status.js';
export { translateEntries } from './entries.js';
export { translateTreatments } from './treatments.js';

export interface NightscoutOptions extends Omit<NightscoutRouteOptions, 'metrics'> {
  readonly metrics: MetricsRegistry;
}

/** The Nightscout-compatible upload API (docs/device-protocol.md "Nightscout"), added to Vigil's HTTP server. */
export function createNightscout(options: NightscoutOptions) {
  const metrics = createNightscoutMetrics(options.metrics);
  return {
    register: (app: FastifyInstance) => registerNightscoutRoutes(app, { ...options, metrics }),
  };
}

export type Nightscout = ReturnType<typeof createNightscout>;
