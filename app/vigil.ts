import type { Logger } from 'pino';
import { createAlerts, mirrorsSharedAlerts } from '../alerts/index.js';
import { createCareLoop } from '../careloop/index.js';
import { claimInstance, collectPatientExport, refuseServedDataDir, erasePatient, REPLICA_ACTOR, RetentionSweep, scheduleRetention, statePurges } from '../lifecycle/index.js';
import { AuditLog, changedElsewhere } from '../state/index.js';
import { createDashboard, createHttpServer, openIdentityDatabase } from '../dashboard/index.js';
import { VigilError, type Reading } from '../domain/index.js';
import { createIngest, InfluxStore, NewestRecovered, SqliteStore, type ReadingStore } from '../ingest/index.js';
import { DeviceRateLimiter, perDeviceLogLimiter } from '../gateway/index.js';
import { createNightscout } from '../nightscout/index.js';
import { fhirFrameworkError } from '../interop/index.js';
import type { VigilConfig } from './config.js';
import { brokerHookRoutes } from './broker-hooks.js';
import { hubSinkKeepingRefusals } from './hub-sink.js';
import { startDeviceSide } from './device-side.js';
import { createMetricsRegistry, packageVersion } from './metrics.js';
import { monitorStateDatabase } from './state-database-monitor.js';
import { shareAuditLog } from './audit-sharing.js';
import { interopRoutes } from './interop.js';
import { RegistryReplica } from '../registry/index.js';
import { careDirectory, dashboardDirectory, openState, patientDirectory, shareStateAlerts, shareStateRegistry } from './state.js';

/** Readings recovered from the outbox at start-up that the threshold rules see again: the newest this many. */
const RECOVERED_FOR_RULES = 100_000;

export interface VigilHooks {
  /** Called after each batch of readings reached the reading store (the demo's progress line uses it). */
  readonly onStored?: (readings: readonly Reading[]) => void;
  /** The clock intake judges reading times by (default Date.now; a test makes it slow). */
  readonly now?: () => number;
}

async function openStore(config: VigilConfig, log: Logger): Promise<ReadingStore> {
  if (!config.influx) return new SqliteStore(config.dataDir);
  return InfluxStore.open(config.influx, (message) => log.warn(message));
}

/** Whether the registry changed: in another process (the CLI), or on another instance (through the shared registry). */
function registryChanges(elsewhere: () => boolean, inShared: () => boolean): () => boolean {
  // Both asked every time: each remembers what it last answered.
  return () => [elsewhere(), inShared()].includes(true);
}

/**
 * The composition root: builds every component, wires them through their public entries, and closes them in
 * reverse order. Ready when it returns: listeners are bound, the outbox is recovered, the shipper runs.
 */
export async function startVigil(config: VigilConfig, log: Logger, hooks: VigilHooks = {}) {
  // What is built so far, to close in reverse order if a later step fails (a port in use, say).
  const built: (() => unknown)[] = [];
  try {
    return await build(config, log, hooks, built);
  } catch (err) {
    for (const close of built.reverse()) await Promise.resolve(close()).catch(() => undefined);
    throw err;
  }
}

async function build(config: VigilConfig, log: Logger, hooks: VigilHooks, built: (() => unknown)[]) {
  // Before anything is opened: a second start on a served dir must not touch its outbox or its pid file.
  refuseServedDataDir(config.dataDir);
  const metrics = createMetricsRegistry({ commit: config.buildCommit });
  const { db, registry } = openState(config.dataDir, { defaultTimeZone: config.defaultTimeZone });
  built.push(() => db.close());
  // A replica without its shared registry would serve a frozen copy: revocations made elsewhere would never arrive.
  if (!config.databaseUrl && (RegistryReplica.isReplica(db) || mirrorsSharedAlerts(db))) {
    throw new VigilError(
      'VIGIL_ERR_CONFIG',
      `VIGIL_DATABASE_URL: ${config.dataDir} mirrors a shared registry in PostgreSQL; set VIGIL_DATABASE_URL (or VIGIL_DATABASE_URL_FILE), or make its registry its own again with \`vigil registry detach\``,
    );
  }
  // `vigil restore` refuses to write under a running server: this file tells it one runs.
  const releaseInstance = claimInstance(config.dataDir);
  built.push(releaseInstance);
  // Users, sessions and API tokens: in PostgreSQL when VIGIL_DATABASE_URL is set, shared by every instance.
  const identity = await openIdentityDatabase(
    db,
    config.databaseUrl,
    (err) => log.warn({ err }, 'an idle PostgreSQL connection failed; the pool replaces it'),
    (copied) => log.info(copied, "the shared database had no accounts: this data dir's users and API tokens were copied into it"),
  );
  built.push(() => identity.close());
  // PostgreSQL's outages in /readyz, /metrics and the log; the dashboard's statements go through its client.
  const database = config.databaseUrl ? monitorStateDatabase(identity.sql, metrics, log.child({ component: 'state' })) : undefined;
  if (database) built.push(() => database.close());
  const store = await openStore(config, log);
  built.push(() => store.close());
  const audit = new AuditLog(db);
  // With VIGIL_DATABASE_URL, one audit log for every instance, in PostgreSQL (docs/architecture.md).
  const auditSharing = await shareAuditLog(db, audit, config.databaseUrl, metrics, log.child({ component: 'audit' }));
  built.push(() => auditSharing.close());
  // Patients and devices: in PostgreSQL too when VIGIL_DATABASE_URL is set, mirrored here (docs/architecture.md).
  const registryLog = log.child({ component: 'registry' });
  const sharedRegistry = await shareStateRegistry(
    { db, registry },
    config.databaseUrl,
    (err) => registryLog.warn({ err }, 'shared registry: a write or the change feed failed; it retries, and resyncs on reconnection'),
    // Erased on another instance: this one's rows and readings go too.
    (patientId) =>
      void erasePatient({ db, audit, readings: store, dataDir: config.dataDir, patientId, by: REPLICA_ACTOR }).catch((err: Error) =>
        registryLog.error({ err }, 'could not erase locally a patient erased from the shared registry; run `vigil patients erase` on this instance'),
      ),
  );
  if (sharedRegistry) built.push(() => sharedRegistry.close());
  // Plans, reminders, medication and messages (docs/hub-protocol.md); its plans set what missing-data rules expect.
  const care = createCareLoop({ db, audit, readings: store, directory: careDirectory(registry), log: log.child({ component: 'careloop' }), cron: config.careCron, now: hooks.now });
  built.push(() => care.close());
  const alertLog = log.child({ component: 'alerts' });
  // Alerts and their events: in PostgreSQL too when VIGIL_DATABASE_URL is set, one live alert per condition across instances.
  const sharedAlerts = await shareStateAlerts(db, config.databaseUrl, alertLog);
  if (sharedAlerts) built.push(() => sharedAlerts.close());
  // Ingest is built after alerts (its callbacks feed them); the sweep asks it for rejections once it exists.
  let ingestRef: { rejectionCounts(since: number): ReadonlyMap<string, number> } | undefined;
  const alerts = await createAlerts({
    db,
    audit,
    history: store,
    directory: patientDirectory(registry, (since) => ingestRef?.rejectionCounts(since) ?? new Map()),
    metrics,
    log: alertLog,
    ...config.alerts,
    plan: (patient) => care.loop.planOf(patient),
    adherence: care.loop,
    symptoms: (patientId, from, to) => care.loop.checkins.worseBreathingAt(patientId, from, to),
    shared: sharedAlerts,
  });
  built.push(() => alerts.close());
  // Rules never hold up ingest: a failure to evaluate is logged, the reading stays accepted and stored.
  const guarded = (what: string, work: () => unknown) => {
    try {
      const result = work();
      if (result instanceof Promise) result.catch((err: Error) => alertLog.error({ err }, `${what} failed`));
    } catch (err) {
      alertLog.error({ err }, `${what} failed`);
    }
  };
  // Doses counted missed on a care tick are judged with the BP history then (docs/alerts.md, adherence).
  care.loop.onDosesMissed((patientIds) => guarded('adherence rules', () => alerts.evaluation.onDosesMissed(patientIds)));
  // A check-in answer can raise a heart-failure weight-gain alert (docs/alerts.md "Check-in symptoms").
  care.loop.checkins.onAnswered((patientId) => guarded('check-in rules', () => alerts.evaluation.onSymptoms(patientId)));
  const recovered = new NewestRecovered(RECOVERED_FOR_RULES);
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
    rejectionPayloads: config.rejectionPayloads,
    clockSkew: config.clockSkew,
    now: hooks.now,
    auditReplay: (id, deviceId, result) => audit.record('system:replay', 'rejections.replayed', null, `rejection:${id}`, { deviceId, ...result }),
    onStored: (readings) => {
      guarded('trend rules', () => alerts.evaluation.onStored(readings));
      hooks.onStored?.(readings);
    },
    onRecovered: (reading) => recovered.add(reading),
  });
  ingestRef = ingest;
  const again = recovered.take();
  if (recovered.seen > again.length) {
    alertLog.warn({ recovered: recovered.seen, evaluated: again.length }, 'rules ran again on the newest readings recovered from the outbox only (they ran on the older ones at their commit)');
  }
  if (again.length > 0) guarded('rules on recovered readings', () => alerts.evaluation.onCommitted(again));
  built.push(() => ingest.close(0));
  // Retention runs on its schedule; what it deletes and why: docs/operations.md, "Backups and retention".
  const retention = scheduleRetention(
    config.retention.cron,
    new RetentionSweep({
      policy: config.retention.policy,
      purges: statePurges(db, { auditShippedOnly: config.databaseUrl !== undefined }),
      pruneRejections: (before) => ingest.rejections.prune(before),
      readings: store instanceof SqliteStore ? store : undefined,
      audit,
      batchSize: config.retention.batchSize,
    }),
    log.child({ component: 'retention' }),
  );
  built.push(() => retention.close());
  const dashboard = createDashboard({
    db,
    identity: database?.client ?? identity.sql,
    alerts,
    audit,
    auditTrail: auditSharing.trail,
    readings: store,
    directory: dashboardDirectory(registry),
    settings: config.dashboard,
    adminToken: config.adminToken,
    metrics,
    log: log.child({ component: 'dashboard' }),
    care: care.loop,
    patientData: {
      export: (patientId, by) => collectPatientExport({ db, audit, auditTrail: config.databaseUrl ? auditSharing.trail : undefined, readings: store, dataDir: config.dataDir, patientId, by }, 'download'),
      erase: (patientId, by) => erasePatient({ db, audit, readings: store, dataDir: config.dataDir, patientId, by, shared: registry }),
    },
  });
  built.push(() => dashboard.close());
  alerts.feed.on('event', (event) => guarded('live push', () => dashboard.onAlertEvent(event)));
  // After the commit, off the PUBACK path: the device's acknowledgement never waits for rule evaluation.
  ingest.intake.on('committed', (readings) =>
    setImmediate(() => {
      guarded('threshold rules', () => alerts.evaluation.onCommitted(readings));
      guarded('dashboard', () => dashboard.onCommitted(readings));
    }),
  );
  // One limiter for the lines keyed by device, whichever path a device's messages come by (MQTT, Nightscout): a
  // device bad on both writes one 'readings rejected' line every 10 s, not one per path. Closed after both.
  const deviceLogLimiter = perDeviceLogLimiter();
  built.push(() => deviceLogLimiter.close());
  const gateway = await startDeviceSide(config, {
    registry,
    registryChanged: registryChanges(changedElsewhere(db, 2_000), registry.changedInShared()),
    sink: ingest.intake,
    hub: hubSinkKeepingRefusals(care.loop, ingest.rejections, (hubId) => registry.getDevice(hubId)?.patientId ?? null),
    metrics,
    log: log.child({ component: 'gateway' }),
    deviceLogLimiter,
  });
  built.push(() => gateway.close());
  care.loop.attachSender((hubId, payload, expiresAt) => gateway.publishToInbox(hubId, payload, expiresAt));
  // Nightscout uploaders (xDrip+, Loop) on the HTTP server, into the same intake: docs/device-protocol.md.
  const nightscout = createNightscout({
    credentials: registry,
    intake: ingest.intake,
    readings: store,
    limits: config.limits,
    rate: new DeviceRateLimiter(config.rate.perSecond, config.rate.burst),
    deviceLogLimiter,
    metrics,
    log: log.child({ component: 'nightscout' }),
    markSeen: (entries) => registry.markSeen(entries),
  });
  built.push(() => nightscout.close());
  const http = await createHttpServer({
    host: config.host,
    port: config.httpPort,
    logger: log.child({ component: 'http' }),
    tls: config.tls?.http ? config.tls : undefined,
    mqttWebSocket: gateway.handleWebSocket,
    maxPayloadBytes: config.limits.maxPayloadBytes,
    dashboard,
    frameworkErrors: [fhirFrameworkError],
    // Other HTTP APIs on the same server and port: FHIR (docs/interop.md), Nightscout uploads
    // (docs/device-protocol.md) and, in worker mode, the broker's auth hooks (docs/deployment.md).
    routes: [
      ...interopRoutes({ registry, readings: store, dataDir: config.dataDir, alerts: alerts.queries, checkins: care.loop.checkins, access: dashboard.access, version: packageVersion(), ratePerMinute: config.dashboard.apiRatePerMinute }),
      (app) => nightscout.register(app),
      ...[brokerHookRoutes(config, { registry, metrics, audit, log: log.child({ component: 'broker-hooks' }) })].filter((r) => r !== undefined),
    ],
    trustProxy: config.dashboard.trustProxy,
    metrics,
    readiness: () => {
      const h = ingest.health();
      return {
        broker: gateway.readiness(),
        outbox: {
          ok: h.outboxWritable,
          writable: h.outboxWritable,
          error: h.outboxError,
          depth: h.outboxDepth,
          oldestAgeSeconds: Math.round(h.outboxOldestAgeSeconds * 10) / 10,
        },
        // An outage is degraded (readings wait in the outbox and will be stored); a store that refuses Vigil's
        // credentials or has no database will not heal by itself: not ready, with the reason.
        // Damaged records were set aside: Vigil runs on, but an operator must look (degraded until they do).
        outboxIntegrity: { ok: h.outboxQuarantined === 0, required: false, quarantinedRecords: h.outboxQuarantined, quarantine: h.outboxQuarantineDir },
        store: { ok: h.storeReachable, required: h.storeMisconfigured, kind: h.storeKind, error: h.storeError, deadLetters: h.deadLetters },
        // PostgreSQL down: readings still flow, but logins and API requests fail until it is back (degraded).
        ...(database ? { database: { ...database.health(), required: false } } : {}),
        // Most devices ahead by the same minutes: the server clock is slow and their readings may be refused as
        // FUTURE_TIME (kept, replayable once the clock is right: docs/operations.md).
        clock: {
          ok: h.clock.ok,
          required: false,
          devicesSeen: h.clock.devicesSeen,
          devicesAhead: h.clock.devicesAhead,
          estimatedSkewSeconds: h.clock.skewSeconds,
          ...(h.clock.ok ? {} : { error: `readings from ${h.clock.devicesAhead} devices are about ${h.clock.skewSeconds} s ahead of the server clock: check the server's time (NTP)` }),
        },
      };
    },
  });
  log.info({ httpPort: http.port, store: store.kind, identity: identity.sql.dialect, dataDir: config.dataDir }, 'Vigil started');

  let closing: Promise<void> | undefined;
  return {
    mqttPort: gateway.mqttPort,
    mqttsPort: gateway.mqttsPort,
    httpPort: http.port,
    registry,
    ingest,
    alerts,
    audit,
    users: dashboard.users,
    care: care.loop,
    /**
     * Worker mode, scaling down (`vigil worker retire`): takes the backlog the broker kept for this worker, leaves
     * the share group and ends the session; then close() drains the outbox to the store.
     */
    async retireFromBroker(o: { quietMs: number; timeoutMs: number }): Promise<{ messages: number }> {
      if (!gateway.retire) throw new VigilError('VIGIL_ERR_CONFIG', 'only a worker (VIGIL_BROKER_URL set) can be retired from a broker');
      return gateway.retire(o);
    },
    /** Stops intake first, then commits and drains what was accepted, then closes storage. */
    close(drainMs = 5_000): Promise<void> {
      closing ??= (async () => {
        await care.close();
        await gateway.close();
        await http.close();
        nightscout.close();
        // After every path that writes through it: the counts folded since each device's last line.
        deviceLogLimiter.close();
        await retention.close();
        await ingest.close(drainMs);
        dashboard.close();
        await alerts.close();
        await sharedAlerts?.close();
        await store.close();
        await sharedRegistry?.close();
        // After every component that records: what they recorded is shipped (within a bound) before the database closes.
        await auditSharing.close();
        database?.close();
        await identity.close();
        db.close();
        releaseInstance();
        log.info({}, 'Vigil stopped');
      })();
      return closing;
    },
  };
}

export type Vigil = Awaited<ReturnType<typeof startVigil>>;
