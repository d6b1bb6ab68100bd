import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import type { WebSocket } from 'ws';
import { createGateway, startBrokerWorker, startDynsecSync, type DeviceLogLimit, type HubSink, type ReadingSink } from '../gateway/index.js';
import type { Registry } from '../registry/index.js';
import type { VigilConfig } from './config.js';

/** Where devices' messages come from, as the rest of the application sees it: one shape for both modes. */
export interface DeviceSide {
  /** The embedded broker's ports; undefined in worker mode (devices connect to the external broker). */
  readonly mqttPort: number | undefined;
  readonly mqttsPort: number | undefined;
  readonly handleWebSocket: ((socket: WebSocket, req: IncomingMessage) => void) | undefined;
  /** The /readyz "broker" check. */
  readiness(): { readonly ok: boolean; readonly [detail: string]: unknown };
  /** A message for a hub's inbox (QoS 1; kept for an offline hub's session; never delivered after expiresAt). */
  publishToInbox(hubId: string, payload: Buffer, expiresAt: number): Promise<void>;
  /** Worker mode: leave the share group for good once the session's backlog is in (BrokerWorker.retire). */
  readonly retire?: ((o: { quietMs: number; timeoutMs: number }) => Promise<{ messages: number }>) | undefined;
  close(): Promise<void>;
}

/**
 * The embedded aedes gateway by default; with VIGIL_BROKER_URL, a worker consuming from the external broker
 * (docs/operations.md "Scale-out"). Both hand readings to the same ingest intake.
 */
export async function startDeviceSide(
  config: VigilConfig,
  deps: {
    readonly registry: Registry;
    /** True when another process (the CLI) changed the registry since the last call. */
    readonly registryChanged: () => boolean;
    readonly sink: ReadingSink;
    readonly hub?: HubSink | undefined;
    readonly metrics: MetricsRegistry;
    readonly log: Logger;
    /** The per-device line limiter the Nightscout uploads share (app/vigil.ts), closed there. */
    readonly deviceLogLimiter: DeviceLogLimit;
  },
): Promise<DeviceSide> {
  if (config.broker) return startWorkerSide(config, config.broker, deps);
  const gateway = await createGateway({
    host: config.host,
    port: config.mqttPort,
    tls: config.tls,
    topicPrefix: config.topicPrefix,
    ...deps,
    rate: config.rate,
    maxInFlightBytes: config.limits.maxInFlightBytes,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    protection: config.mqtt,
  });
  return {
    mqttPort: gateway.mqttPort,
    mqttsPort: gateway.mqttsPort,
    handleWebSocket: gateway.handleWebSocket,
    readiness: () => ({ ok: gateway.listening(), connectedDevices: gateway.connectedDevices() }),
    publishToInbox: (hubId, payload) => gateway.publishToInbox(hubId, payload),
    close: () => gateway.close(),
  };
}

/**
 * Worker mode. With VIGIL_BROKER_DYNSEC the broker's device logins are reconciled with the registry first (and
 * the worker's own login made sure of), so the worker connects to a broker that lets in exactly Vigil's devices.
 * Only the worker with VIGIL_BROKER_DYNSEC_SYNC on does so: until state is shared, each worker's registry is its
 * own, and several reconciling one broker from different registries would race (docs/deployment.md).
 */
async function startWorkerSide(config: VigilConfig, broker: NonNullable<VigilConfig['broker']>, deps: Parameters<typeof startDeviceSide>[1]): Promise<DeviceSide> {
  const { registryChanged, ...workerDeps } = deps;
  const dynsec = broker.dynsec?.sync
    ? await startDynsecSync({
        login: { url: broker.url, ...broker.dynsec, tls: broker.tls, timeoutMs: broker.connectTimeoutMs },
        topicPrefix: config.topicPrefix,
        worker: broker.username ? { username: broker.username, password: broker.password, shareGroup: broker.shareGroup } : undefined,
        devices: deps.registry,
        registryChanged,
        log: deps.log.child({ component: 'dynsec' }),
      })
    : undefined;
  try {
    const worker = await startBrokerWorker({ broker, topicPrefix: config.topicPrefix, maxInFlightBytes: config.limits.maxInFlightBytes, ...workerDeps });
    if (broker.dynsec && !broker.dynsec.sync) deps.log.info('device logins at the broker are left to the worker with VIGIL_BROKER_DYNSEC_SYNC on');
    return {
      ...worker,
      async close() {
        await worker.close();
        await dynsec?.close();
      },
    };
  } catch (err) {
    await dynsec?.close();
    throw err;
  }
}
