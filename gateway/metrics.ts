import { Counter, Gauge, type Registry } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry, connected: () => number, admission: { inFlightBytes: number; waiting: number }) {
  const registers = [registry];
  return {
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
    refused: new Counter({
      name: 'vigil_mqtt_refused_total',
      help: 'Refused publishes and subscriptions, by error code',
      labelNames: ['code'] as const,
      registers,
    }),
  };
}
