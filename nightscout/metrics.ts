import { Counter, type Registry } from 'prom-client';

export type NightscoutMetrics = ReturnType<typeof createNightscoutMetrics>;

/** The Nightscout upload API's own counts; its readings are counted by intake like any other (vigil_readings_*). */
export function createNightscoutMetrics(registry: Registry) {
  return {
    refused: new Counter({
      name: 'vigil_nightscout_refused_total',
      help: 'Nightscout API requests refused whole (bad api-secret, revoked device, rate limit, not JSON, too large), by error code',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    ignored: new Counter({
      name: 'vigil_nightscout_ignored_total',
      help: 'Nightscout documents Vigil does not use (calibrations, treatments other than finger-stick glucose, device status), by kind',
      labelNames: ['kind'] as const,
      registers: [registry],
    }),
  };
}
