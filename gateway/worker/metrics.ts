import { Counter, Gauge, type Registry } from 'prom-client';
import { HotPathHistogram } from '../../domain/index.js';
import { PUBACK_BUCKETS } from '../metrics.js';

export type BrokerWorkerMetrics = ReturnType<typeof createBrokerWorkerMetrics>;

/** Worker mode's own series: the embedded gateway's (connections, logins) do not exist when a broker serves devices. */
export function createBrokerWorkerMetrics(
  registry: Registry,
  observe: { readonly connected: () => boolean; readonly inFlight: () => number; readonly peakInFlight: () => number; readonly bound: number },
) {
  const registers = [registry];
  const { connected } = observe;
  return {
    inFlight: new Gauge({
      name: 'vigil_worker_inflight',
      help: 'Messages from the external broker between arrival and PUBACK (bounded by VIGIL_WORKER_MAX_INFLIGHT)',
      registers,
      collect() {
        this.set(observe.inFlight());
      },
    }),
    peakInFlight: new Gauge({
      name: 'vigil_worker_inflight_peak',
      help: 'The most messages from the external broker held between arrival and PUBACK at once since start',
      registers,
      collect() {
        this.set(observe.peakInFlight());
      },
    }),
    inFlightBound: new Gauge({
      name: 'vigil_worker_inflight_max',
      help: 'VIGIL_WORKER_MAX_INFLIGHT: the bound on vigil_worker_inflight, also sent to MQTT 5 brokers as the Receive Maximum',
      registers,
      collect() {
        this.set(observe.bound);
      },
    }),
    connected: new Gauge({
      name: 'vigil_broker_connected',
      help: 'Whether this worker is connected to the external broker (1) or not (0)',
      registers,
      collect() {
        this.set(connected() ? 1 : 0);
      },
    }),
    reconnects: new Counter({
      name: 'vigil_broker_reconnects_total',
      help: 'Connections to the external broker made again after a loss',
      registers,
    }),
    messages: new Counter({
      name: 'vigil_broker_messages_total',
      help: 'Messages received from the external broker, by topic kind and outcome (acknowledged, or left for the broker to send again)',
      labelNames: ['kind', 'outcome'] as const,
      registers,
    }),
    ackSeconds: new HotPathHistogram({
      name: 'vigil_broker_ack_duration_seconds',
      help: 'Time from a readings message reaching the worker to its PUBACK being released (validation, durable commit)',
      buckets: PUBACK_BUCKETS,
      registers,
    }),
    refused: new Counter({
      name: 'vigil_broker_refused_total',
      help: 'Messages refused whole (unknown or revoked device, bad status), by error code; acknowledged and reported on the errors topic',
      labelNames: ['code'] as const,
      registers,
    }),
  };
}
