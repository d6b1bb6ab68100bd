import type { FastifyInstance } from 'fastify';
import type { Registry as MetricsRegistry } from 'prom-client';
import { LastSeenBatch } from './last-seen.js';
import { createNightscoutMetrics } from './metrics.js';
import { registerNightscoutRoutes, type NightscoutRouteOptions } from './routes.js';

export { nightscoutStatus, NIGHTSCOUT_API_LEVEL } from './status.js';
export { translateEntries } from './entries.js';
export { translateTreatments } from './treatments.js';

export interface NightscoutOptions extends Omit<NightscoutRouteOptions, 'metrics' | 'seen' | 'log'> {
  readonly metrics: MetricsRegistry;
  readonly log: NightscoutRouteOptions['log'] & { warn(obj: object, msg: string): void };
  /** Writes devices' last-seen times (Registry.markSeen). */
  readonly markSeen: (entries: [deviceId: string, at: number][]) => void;
}

/** The Nightscout-compatible upload API (docs/device-protocol.md "Nightscout"), added to Vigil's HTTP server. */
export function createNightscout(options: NightscoutOptions) {
  const metrics = createNightscoutMetrics(options.metrics);
  const lastSeen = new LastSeenBatch(options.markSeen, (err) => options.log.warn({ err }, 'could not record last-seen times; will retry'));
  return {
    register: (app: FastifyInstance) => registerNightscoutRoutes(app, { ...options, metrics, seen: (deviceId, at) => lastSeen.note(deviceId, at) }),
    /** After the HTTP server has closed: writes the last-seen times still pending (the log lines folded: the limiter's maker). */
    close: () => lastSeen.close(),
  };
}

export type Nightscout = ReturnType<typeof createNightscout>;
