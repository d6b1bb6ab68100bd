import type { FastifyRequest } from 'fastify';
import type { AlertActions, AlertFeed, AlertQueries, ParkedDelivery } from '../alerts/index.js';
import { actorName, type Actor, type AuditLog, type AuditTrail } from '../state/index.js';
import type { RepeatViews } from './audit/repeat-views.js';
import type { Programme } from '../domain/index.js';
import { VigilError } from '../domain/index.js';
import type { ReadingStore } from '../ingest/index.js';
import { actorOf, canSeeTeam, type Principal } from './auth/principal.js';
import type { SessionStore, UserStore } from './auth/identity.js';
import type { LatestReadings } from './worklist/latest-readings.js';
import type { WorklistRanking } from './worklist/worklist-ranking.js';

export interface DirectoryPatient {
  readonly id: string;
  readonly name: string;
  readonly programmes: readonly Programme[];
  readonly careTeam: string | null;
  readonly createdAt: number;
  readonly timeZone: string;
  readonly enrolledAt: Partial<Record<Programme, number>>;
}

export interface DirectoryDevice {
  readonly id: string;
  readonly kind: 'device' | 'hub';
  readonly patientId: string | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly online: boolean;
  readonly battery: number | null;
  readonly firmware: string | null;
  readonly lastSeenAt: number | null;
  readonly statusAt: number | null;
  readonly assignedAt: number | null;
  readonly warmUpUntil: number | null;
}

/** The dashboard's view of the registry, and the one patient setting it changes. */
export interface PatientDirectory {
  patient(id: string): DirectoryPatient | undefined;
  patients(): DirectoryPatient[];
  devices(): DirectoryDevice[];
  /** Validates the IANA zone (VIGIL_ERR_CONFIG naming it otherwise) and returns the patient as changed. */
  setTimeZone(patientId: string, timeZone: string): Promise<DirectoryPatient>;
  /** Rows the shared registry's replica has applied here (another instance's changes); absent without one. */
  replicatedChanges?(): number;
}

export interface SessionSettings {
  readonly idleMinutes: number;
  readonly maxHours: number;
  readonly loginMaxFailures: number;
  readonly loginLockoutMinutes: number;
  /** Login attempts per client address per minute (a ward behind one NAT address shares it). */
  readonly loginRatePerMinute: number;
  /** Requests per client address per minute to /fhir, and to the JSON API with a bearer token (not the page's). */
  readonly apiRatePerMinute: number;
  /** Set the Secure attribute on the session cookie (the server or its proxy speaks HTTPS). */
  readonly secureCookie: boolean;
  readonly silentAfterHours: number;
}

/** What the dashboard uses of the alerts component: its queries, its actions, and its event feed's replay. */
export interface DashboardAlerts {
  readonly queries: AlertQueries;
  readonly actions: Pick<AlertActions, 'acknowledge' | 'resolve' | 'snooze' | 'unsnooze' | 'setOverride' | 'clearOverride' | 'applyPreset'>;
  readonly feed: Pick<AlertFeed, 'eventsAfter' | 'lastSeq'>;
  /** Webhook deliveries the receiver refused, parked (administrators see and replay them). */
  readonly parked: { list(): ParkedDelivery[]; replay(seq?: number): number };
}

/** Everything the dashboard's routes share. */
export interface DashboardContext {
  readonly alerts: DashboardAlerts;
  readonly audit: Pick<AuditLog, 'record'>;
  /** The audit log as administrators read it: with VIGIL_DATABASE_URL, every instance's (PostgreSQL). */
  readonly auditTrail: AuditTrail;
  /** Whether a view of patient data is new (audited) or the same session's repeat (the server decides). */
  readonly views: RepeatViews;
  readonly readings: Pick<ReadingStore, 'queryRaw' | 'queryAggregate' | 'queryDistribution' | 'querySpansWithReadings'>;
  readonly directory: PatientDirectory;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly latest: LatestReadings;
  /** Every patient's worklist row, ranked, shared by the callers of a second (worklist/worklist-ranking.ts). */
  readonly worklist: WorklistRanking<DirectoryPatient>;
  readonly settings: SessionSettings;
}

export function actor(request: FastifyRequest): Actor {
  return actorOf(request.principal!, request.ip);
}

/**
 * Audits a view of patient data unless the same session saw the same thing within the repeat window. The key
 * names the session (or, for a bearer token, the actor and address), so one person's repeat never hides another's.
 * The actor, not the user name: two personal tokens of one user (an EHR interface and a leaked copy of another)
 * are two callers, each audited.
 */
export function auditView(ctx: DashboardContext, request: FastifyRequest, action: string, patientId: string | null, target: string | null, view: string, details?: unknown): void {
  const p = request.principal!;
  const who = p.sessionId ?? `${actorName(actorOf(p, request.ip))}|${request.ip}`;
  if (ctx.views.audit(`${who}|${action}|${patientId ?? ''}|${view}`, Date.now())) ctx.audit.record(actor(request), action, patientId, target, details);
}

/**
 * The patient, if the request's principal may see it. A patient outside the caller's care teams is answered exactly
 * as one that does not exist (404, the same body): a 403 would tell a clinician, or a leaked token probing ids, which
 * patient ids exist. The server still knows the difference: the refusal is audited as `access.denied`.
 */
export function visiblePatient(ctx: DashboardContext, request: FastifyRequest, patientId: string): DirectoryPatient {
  const patient = ctx.directory.patient(patientId);
  if (patient && canSeeTeam(request.principal!, patient.careTeam)) return patient;
  if (patient) ctx.audit.record(actor(request), 'access.denied', patientId, request.url.split('?')[0] ?? null);
  throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist`);
}

export function visiblePatients(ctx: DashboardContext, principal: Principal): DirectoryPatient[] {
  const all = ctx.directory.patients();
  return principal.role === 'admin' ? all : all.filter((p) => canSeeTeam(principal, p.careTeam));
}
