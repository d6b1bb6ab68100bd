import { Counter, Gauge, type Registry } from 'prom-client';
import { HotPathHistogram } from '../domain/index.js';

/** Seconds from a readings message's arrival to its PUBACK: the durable commit dominates. */
export const PUBACK_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(
  registry: Registry,
  connected: () => number,
  admission: { inFlightBytes: number; waiting: number },
  open: () => number = () => 0,
) {
  const registers = [registry];
  return {
    inboxExpired: new Counter({
      name: 'vigil_hub_inbox_expired_total',
      help: 'Inbox messages the broker dropped instead of delivering because they had expired (an offline hub\'s reminder)',
      registers,
    }),
    inboxWithheld: new Counter({
      name: 'vigil_hub_inbox_withheld_total',
      help: 'Inbox messages the broker dropped instead of delivering because the hub now serves another patient than the one they were written for',
      registers,
    }),
    inFlightBytes: new Gauge({
      name: 'vigil_ingest_inflight_bytes',
      help: 'Readings payload bytes between arrival and PUBACK, across all devices',
      registers,
      collect() {
        this.set(admission.inFlightBytes);
      },
    }),
    admissionWaiting: new Gauge({
      name: 'vigil_ingest_backpressure_waiting',
      help: 'Publishes waiting for the in-flight bound (back-pressure: their PUBACK comes later)',
      registers,
      collect() {
        this.set(admission.waiting);
      },
    }),
    connected: new Gauge({
      name: 'vigil_devices_connected',
      help: 'MQTT connections of authenticated devices',
      registers,
      collect() {
        this.set(connected());
      },
    }),
    authFailures: new Counter({
      name: 'vigil_mqtt_auth_failures_total',
      help: 'Refused MQTT connections, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    openConnections: new Gauge({
      name: 'vigil_mqtt_connections_open',
      help: 'Open MQTT connections, authenticated or not (counted against VIGIL_MQTT_MAX_CONNECTIONS)',
      registers,
      collect() {
        this.set(open());
      },
    }),
    connectionsRefused: new Counter({
      name: 'vigil_mqtt_connections_refused_total',
      help: 'MQTT connections closed before or instead of authenticating, by reason (limits, deadline, oversized or malformed packets, unsupported protocol name or version)',
      labelNames: ['reason'] as const,
      registers,
    }),
    sessionsEvicted: new Counter({
      name: 'vigil_mqtt_sessions_evicted_total',
      help: 'Offline sessions dropped to make room for a new client id of the same device (VIGIL_MAX_SESSIONS_PER_DEVICE)',
      registers,
    }),
    pubackSeconds: new HotPathHistogram({
      name: 'vigil_mqtt_puback_duration_seconds',
      help: 'Time from a readings publish reaching Vigil to its PUBACK being released (validation, rate limit, back-pressure, durable commit)',
      buckets: PUBACK_BUCKETS,
      registers,
    }),
    refused: new Counter({
      name: 'vigil_mqtt_refused_total',
      help: 'Refused publishes and subscriptions, by error code',
      labelNames: ['code'] as const,
      registers,
    }),
  };
}
