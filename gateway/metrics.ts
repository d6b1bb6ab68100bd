import { Counter, Gauge, type Registry } from 'prom-client';

export type GatewayMetrics = ReturnType<typeof createGatewayMetrics>;

export function createGatewayMetrics(registry: Registry, connected: () => number) {
  const registers = [registry];
  return {
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
