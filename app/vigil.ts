import { collectDefaultMetrics, Registry as MetricsRegistry } from 'prom-client';
import type { Logger } from 'pino';
import { createHttpServer } from '../dashboard/index.js';
import type { Reading } from '../domain/index.js';
import { createGateway } from '../gateway/index.js';
import { createIngest, InfluxStore, SqliteStore, type ReadingStore } from '../ingest/index.js';
import type { VigilConfig } from './config.js';
import { openState } from './state.js';

export interface VigilHooks {
  /** Called after each batch of readings reached the reading store (the demo's progress line uses it). */
  readonly onStored?: (readings: readonly Reading[]) => void;
}

async function openStore(config: VigilConfig, log: Logger): Promise<ReadingStore> {
  if (!config.influx) return new SqliteStore(config.dataDir);
  return InfluxStore.open(config.influx, (message) => log.warn(message));
}

/**
 * The composition root: builds every component, wires them through their public entries, and closes them in
 * reverse order. Ready when it returns: listeners are bound, the outbox is recovered, the shipper runs.
 */
export async function startVigil(config: VigilConfig, log: Logger, hooks: VigilHooks = {}) {
  const metrics = new MetricsRegistry();
  collectDefaultMetrics({ register: metrics, prefix: 'vigil_process_' });
  const { db, registry } = openState(config.dataDir);
  const store = await openStore(config, log);
  const ingest = await createIngest({
    dataDir: config.dataDir,
    db,
    registry,
    store,
    metrics,
    limits: config.limits,
    timing: config.timing,
    log: log.child({ component: 'ingest' }),
    shipBatchSize: config.shipBatchSize,
    storeRetryMaxMs: config.storeRetryMaxMs,
    onStored: hooks.onStored,
  });
  const gateway = await createGateway({
    host: config.host,
    port: config.mqttPort,
    tls: config.tls,
    topicPrefix: config.topicPrefix,
    registry,
    sink: ingest.intake,
    metrics,
    log: log.child({ component: 'gateway' }),
    rate: config.rate,
  });
  const http = await createHttpServer({
    host: config.host,
    port: config.httpPort,
    logger: log.child({ component: 'http' }),
    tls: config.tls?.http ? config.tls : undefined,
    mqttWebSocket: gateway.handleWebSocket,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    metrics,
    readiness: () => {
      const h = ingest.health();
      return {
        broker: { ok: gateway.listening(), connectedDevices: gateway.connectedDevices() },
        outbox: {
          ok: h.outboxWritable,
          writable: h.outboxWritable,
          error: h.outboxError,
          depth: h.outboxDepth,
          oldestAgeSeconds: Math.round(h.outboxOldestAgeSeconds * 10) / 10,
        },
        store: { ok: h.storeReachable, degraded: true, kind: h.storeKind, error: h.storeError, deadLetters: h.deadLetters },
      };
    },
  });
  log.info({ httpPort: http.port, store: store.kind, dataDir: config.dataDir }, 'Vigil started');

  let closing: Promise<void> | undefined;
  return {
    mqttPort: gateway.mqttPort,
    mqttsPort: gateway.mqttsPort,
    httpPort: http.port,
    registry,
    ingest,
    /** Stops intake first, then commits and drains what was accepted, then closes storage. */
    close(drainMs = 5_000): Promise<void> {
      closing ??= (async () => {
        await gateway.close();
        await http.close();
        await ingest.close(drainMs);
        await store.close();
        db.close();
        log.info({}, 'Vigil stopped');
      })();
      return closing;
    },
  };
}

export type Vigil = Awaited<ReturnType<typeof startVigil>>;
