import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, validatorCompiler } from 'fastify-type-provider-zod';
import { Gauge, Counter, type Registry as MetricsRegistry } from 'prom-client';
import type { AlertEvent } from '../alerts/index.js';
import { localAuditTrail, type AuditLog, type AuditTrail } from '../state/index.js';
import type { Reading } from '../domain/index.js';
import { sqliteClient, type SqlClient, type StateDb } from '../state/index.js';
import { createAuthenticator, requirePrincipal } from './auth/authenticate.js';
import { identityStores } from './auth/identity-database.js';
import { canSeeTeam } from './auth/principal.js';
import { RepeatViews } from './audit/repeat-views.js';
import { auditView, type DashboardAlerts, type DashboardContext, type PatientDirectory, type SessionSettings } from './context.js';
import { LiveHub } from './live/live-hub.js';
import { registerLiveRoute } from './live/live-route.js';
import { registerAdminRoutes } from './routes/admin-routes.js';
import { registerPatientDataRoutes, type PatientDataActions } from './routes/patient-data-routes.js';
import { registerAlertRoutes } from './routes/alert-routes.js';
import { registerCareRoutes } from './routes/care-routes.js';
import { registerCheckinRoutes } from './routes/checkin-routes.js';
import type { CareLoop } from '../careloop/index.js';
import { registerPatientRoutes } from './routes/patient-routes.js';
import { registerProgrammeRoutes } from './routes/programme-routes.js';
import { registerReportRoutes } from './routes/report-routes.js';
import { registerTokenRoutes } from './routes/token-routes.js';
import { auditForgery, auditRefusal, requestAccess } from './request-access.js';
import { jsonSerializerCompiler } from './routes/serializer.js';
import { registerSessionRoutes } from './routes/session-routes.js';
import { registerWebAssets } from './web-assets.js';
import { LatestReadings } from './worklist/latest-readings.js';
import { SCALE_2_PRESET } from '../reports/index.js';
import { WorklistRanking } from './worklist/worklist-ranking.js';

export interface DashboardOptions {
  readonly db: StateDb;
  /** Where users, sessions and API tokens live (openIdentityDatabase); absent, the state database `db`. */
  readonly identity?: SqlClient | undefined;
  readonly alerts: DashboardAlerts;
  readonly audit: AuditLog;
  /** The audit log administrators read: every instance's with VIGIL_DATABASE_URL (state/audit-trail.ts); absent, `audit`'s. */
  readonly auditTrail?: AuditTrail | undefined;
  readonly readings: DashboardContext['readings'];
  readonly directory: PatientDirectory;
  readonly settings: SessionSettings;
  readonly adminToken: string | undefined;
  readonly metrics: MetricsRegistry;
  readonly log: { warn(obj: object, msg: string): void };
  /** Bytes a live client may fall behind before it is dropped (it reconnects and replays). */
  readonly liveMaxBufferedBytes?: number;
  /** A patient's export and erasure (administrators); absent, those routes are not offered. */
  readonly patientData?: PatientDataActions | undefined;
  /** Plans, medications, adherence and messages (the care loop); absent, those routes are not offered. */
  readonly care?: CareLoop | undefined;
}

export type Dashboard = ReturnType<typeof createDashboard>;

/**
 * The clinician dashboard: sessions and roles, the JSON API (OpenAPI at /api/docs), the live channel and the
 * web client. `register` adds it to the one HTTP server; `onCommitted` and `onAlertEvent` feed it.
 */
export function createDashboard(options: DashboardOptions) {
  const { users, sessions, tokens } = identityStores(options.identity ?? sqliteClient(options.db), {
    idleMs: options.settings.idleMinutes * 60_000,
    maxAgeMs: options.settings.maxHours * 3_600_000,
  });
  const latest = new LatestReadings(options.db, 1000, (err) => options.log.warn({ err }, 'latest readings not saved; will retry'));
  const worklist = new WorklistRanking({
    patients: () => options.directory.patients(),
    liveAlerts: () => options.alerts.queries.list({ status: 'live', limit: 100_000 }),
    spo2Scale2: () => options.alerts.queries.patientsWithPreset(SCALE_2_PRESET),
    alertSeq: () => options.alerts.feed.lastSeq(),
    latest,
    replicatedChanges: () => options.directory.replicatedChanges?.() ?? 0,
    silentAfterMs: () => options.settings.silentAfterHours * 3_600_000,
    now: () => Date.now(),
  });
  const ctx: DashboardContext = { alerts: options.alerts, audit: options.audit, auditTrail: options.auditTrail ?? localAuditTrail(options.audit), views: new RepeatViews(), readings: options.readings, directory: options.directory, users, sessions, latest, worklist, settings: options.settings };
  const authenticate = createAuthenticator({ adminToken: options.adminToken, users, sessions, tokens, onRefused: (request, refusal) => auditRefusal(ctx, request, refusal), onForged: (request, username) => auditForgery(ctx, request, username) });
  const dropped = new Counter({ name: 'vigil_live_clients_dropped_total', help: 'Live dashboard connections closed because the client fell behind', registers: [options.metrics] });
  const hub = new LiveHub({
    maxBufferedBytes: options.liveMaxBufferedBytes ?? 4 * 1024 * 1024,
    readingBatchMs: 500,
    onDropped: () => dropped.inc(),
    access: {
      canSeePatient: (principal, patientId) => principal.role === 'admin' || canSeeTeam(principal, options.directory.patient(patientId)?.careTeam ?? null),
      patientName: (patientId) => options.directory.patient(patientId)?.name,
      sessionValid: async (principal) =>
        principal.tokenId !== undefined
          ? (await tokens.active(principal.tokenId)) && (await users.get(principal.userId!))?.disabledAt === null
          : principal.kind === 'token' || (await sessions.peek(principal.sessionId!, Date.now())) !== undefined,
      accessChanged: async (principal) => {
        if (principal.userId === null) return false;
        const user = await users.get(principal.userId);
        return !user || user.role !== principal.role || [...user.careTeams].sort().join('\n') !== [...principal.careTeams].sort().join('\n');
      },
      eventsAfter: (seq, limit) => options.alerts.feed.eventsAfter(seq, limit),
    },
  });
  new Gauge({ name: 'vigil_live_clients', help: 'Open live dashboard connections', registers: [options.metrics], collect() { this.set(hub.clients); } });
  const purge = setInterval(() => {
    sessions.purgeExpired(Date.now()).catch((err: unknown) => options.log.warn({ err }, 'expired sessions not purged; will retry'));
  }, 60_000);
  purge.unref();

  return {
    users,
    tokens,
    /** Who asks and what they may see, for the routes of other components on this server (interop). */
    access: requestAccess(ctx, authenticate),
    async register(app: FastifyInstance): Promise<void> {
      app.setValidatorCompiler(validatorCompiler);
      app.setSerializerCompiler(jsonSerializerCompiler);
      await app.register(cookie);
      await app.register(rateLimit, { global: false });
      await app.register(swagger, {
        openapi: {
          info: { title: 'Vigil API', version: '1', description: 'Remote patient monitoring: patients, readings, alerts, audit. Log in with POST /api/session (cookie + X-CSRF-Token) or send Authorization: Bearer <VIGIL_ADMIN_TOKEN>.' },
          components: {
            securitySchemes: {
              bearer: { type: 'http', scheme: 'bearer' },
              session: { type: 'apiKey', in: 'cookie', name: 'vigil_session' },
              // The Nightscout upload API (nightscout/): a device's API secret, SHA-1 hex of its secret.
              apiSecret: { type: 'apiKey', in: 'header', name: 'api-secret' },
            },
          },
          security: [{ session: [] }, { bearer: [] }],
        },
        transform: jsonSchemaTransform,
        // The shared entities (domain/api) are components the routes' schemas refer to.
        transformObject: jsonSchemaTransformObject,
      });
      await app.register(swaggerUi, { routePrefix: '/api/docs', staticCSP: true });
      // Integrations (a bearer token, valid or not) are limited per address before their credentials are checked,
      // wherever a bearer value is taken (the API, the session routes, the live channel: one budget), so that
      // guessing VIGIL_ADMIN_TOKEN is slowed on every route; the page's own session requests are not (a
      // clinician's busy morning must never meet a 429).
      const bearerLimit = app.rateLimit({ max: options.settings.apiRatePerMinute, timeWindow: '1 minute', allowList: (request) => request.headers.authorization === undefined });
      await registerSessionRoutes(app, ctx, authenticate, bearerLimit);
      await app.register(async (api) => {
        api.addHook('onRequest', bearerLimit);
        api.addHook('onRequest', requirePrincipal(authenticate));
        // Patient data never lands in a browser's or a proxy's cache (HIPAA 164.312(a): access control).
        api.addHook('onSend', async (_request, reply, payload) => {
          reply.header('cache-control', 'no-store');
          return payload;
        });
        await registerPatientRoutes(api, ctx);
        await registerReportRoutes(api, ctx);
        await registerProgrammeRoutes(api, ctx);
        await registerAlertRoutes(api, ctx);
        if (options.care) await registerCareRoutes(api, ctx, options.care);
        if (options.care) await registerCheckinRoutes(api, ctx, options.care);
        await api.register(async (admin) => registerAdminRoutes(admin, ctx));
        await api.register(async (admin) => registerTokenRoutes(admin, ctx, tokens));
        const patientData = options.patientData;
        if (patientData) await api.register(async (admin) => registerPatientDataRoutes(admin, ctx, patientData));
      });
      await app.register(async (scope) => {
        scope.addHook('onRequest', bearerLimit);
        await registerLiveRoute(scope, hub, authenticate, (request, replay, streaming) => {
          // The stream of every visible patient's alerts and readings is a view of its own, with who and from where.
          if (streaming) auditView(ctx, request, 'live.open', null, null, 'live', { after: replay.after });
          // The replay reads alert history (patient names and values), as GET /api/alerts/events does.
          if (replay.count > 0) auditView(ctx, request, 'alerts.events.view', null, null, `live|${replay.after}|${replay.lastSeq}`, { ...replay, via: 'live' });
        });
      });
      await registerWebAssets(app);
    },
    onCommitted(readings: readonly Reading[]): void {
      const newer = latest.note(readings);
      hub.onReadings(newer);
    },
    onAlertEvent(event: AlertEvent): void {
      hub.onAlertEvent(event);
    },
    close(): void {
      clearInterval(purge);
      hub.close();
      latest.close();
    },
  };
}
