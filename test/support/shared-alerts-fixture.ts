import pg from 'pg';
import { openState, patientDirectory, shareStateAlerts, shareStateRegistry } from '../../app/state.js';
import { openAlertsCore } from '../../alerts/index.js';
import { sharedTransitions } from '../../alerts/shared/shared-transitions.js';
import { normaliseReading, wireReadingSchema, type Reading, type WireReadingInput } from '../../domain/index.js';
import { AuditLog, openPostgres, type PostgresState } from '../../state/index.js';
import { tempDir } from './temp.js';
import { TEST_ALERT_TIMERS } from './alert-timers.js';

/**
 * One instance's alerts on their own data dir, shared (PostgreSQL at a URL) or embedded, as the tests of shared
 * transitions need them (alerts/shared/shared-together*.test.ts): the same options as a server's, and patients
 * each with a device.
 */
const MIN = 60_000;

export const crisis = { type: 'blood_pressure', systolic: 210, diastolic: 125, unit: 'mmHg' } as WireReadingInput;

export type FixtureLog = { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };

/** What a test that sees no error expects: a warning or an error is printed, since it is a bug the test must show. */
const printed: FixtureLog = {
  warn: (o: object) => loud((o as { err?: Error }).err),
  info: () => undefined,
  error: (o: object) => loud((o as { err?: Error }).err),
};
function loud(err: Error | undefined): void {
  process.stderr.write(`shared alerts error: ${err?.stack ?? err?.message ?? 'no error given'}\n`);
}

export interface FixtureOptions {
  /** The shared database; without it, the alerts are embedded in the data dir. */
  readonly url: string | undefined;
  readonly clock: { now: number };
  /** Patients added, each with a device (none when a data dir is opened again: its patients are there). */
  readonly patients: number;
  /** Where warnings and errors go; by default printed. */
  readonly log?: FixtureLog | undefined;
  /**
   * The shared transitions' locked transactions pass through this (to note their statements, lose a COMMIT's
   * answer, or play an outage); they then run on a pool of their own.
   */
  readonly locked?: ((locked: PostgresState['locked']) => PostgresState['locked']) | undefined;
  /** A data dir to open (again), which close keeps; by default a new one, removed at close. */
  readonly dir?: string | undefined;
  /** Transitions waiting for PostgreSQL in memory at most (the server's 10,000 unless given). */
  readonly maxWaiting?: number | undefined;
  /** How long a finding given up waits before it is tried again (the server's 30 s unless given). */
  readonly givenUpRetryMs?: number | undefined;
}

export async function sharedAlertsInstance(o: FixtureOptions) {
  const own = o.dir === undefined ? await tempDir() : undefined;
  const dir = o.dir ?? own!.path;
  const log = o.log ?? printed;
  const state = openState(dir);
  const registry = await shareStateRegistry(state, o.url, (err) => log.warn({ err }, 'the shared registry failed'));
  const opened = await shareStateAlerts(state.db, o.url, log);
  let pool: PostgresState | undefined;
  let shared = opened;
  if (opened && o.url && o.locked) {
    pool = await openPostgres(o.url, [], (err) => log.warn({ err }, 'an idle pooled connection failed'));
    const locked = o.locked(pool.locked);
    shared = { ...opened, transitions: (table) => sharedTransitions(table, { locked }, opened.replica) };
  }
  const alerts = openAlertsCore({
    db: state.db,
    audit: new AuditLog(state.db, () => o.clock.now),
    history: { queryRaw: noHistory, queryAggregate: noHistory },
    directory: patientDirectory(state.registry, () => new Map()),
    log,
    ...TEST_ALERT_TIMERS,
    lateAfterMinutes: 24 * 60,
    now: () => o.clock.now,
    shared,
    maxWaiting: o.maxWaiting,
    givenUpRetryMs: o.givenUpRetryMs,
  });
  const devices: { patientId: string; deviceId: string }[] = [];
  for (let i = 0; i < o.patients; i++) {
    const patient = await state.registry.addPatient({ name: `Patient ${i}`, programmes: ['hypertension'] });
    const { device } = await state.registry.addDevice({ patientId: patient.id });
    devices.push({ patientId: patient.id, deviceId: device.id });
  }
  return {
    alerts,
    devices,
    dir,
    /** The instance's own state database (its replica of the shared alerts, its waiting findings). */
    db: state.db,
    /** A reading of patient `i`, measured at `at`. */
    reading(i: number, wire: WireReadingInput, at: number): Reading {
      const { patientId, deviceId } = devices[i]!;
      const parsed = wireReadingSchema.parse({ ...wire, time: new Date(at).toISOString() });
      const result = normaliseReading(parsed, { deviceId, patientId, receivedAt: o.clock.now, futureToleranceMs: 5 * MIN, maxAgeMs: 24 * 60 * MIN, lateAfterMs: 24 * 60 * MIN });
      if (!result.ok) throw new Error(result.message);
      return result.reading;
    },
    async close() {
      await alerts.evaluation.close();
      await pool?.close();
      await shared?.close();
      await registry?.close();
      state.db.close();
      await own?.remove();
    },
  };
}
export type SharedAlertsInstance = Awaited<ReturnType<typeof sharedAlertsInstance>>;

/**
 * The next start on a data dir: `previous` is closed and Vigil opened again on `o.dir` (its patients are there),
 * with the findings it kept waiting for the shared database queued again, as the server does at start.
 */
export async function nextStart(previous: { close(): Promise<void> }, o: Omit<FixtureOptions, 'patients'> & { readonly dir: string }): Promise<SharedAlertsInstance> {
  await previous.close();
  const next = await sharedAlertsInstance({ ...o, patients: 0 });
  next.alerts.evaluation.resumeWaitingFindings();
  return next;
}

async function noHistory(): Promise<never> {
  throw new Error('no reading history in this test');
}

/** What the shared database holds: rows of a query, on a connection of its own. */
export async function sharedRows<Row>(url: string, sql: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** A log that keeps what was warned of and logged as an error. */
export function kept() {
  const lines: { level: 'warn' | 'error'; msg: string; code: unknown }[] = [];
  const note = (level: 'warn' | 'error') => (obj: object, msg: string) => lines.push({ level, msg, code: (obj as { err?: { code?: unknown } }).err?.code });
  const log: FixtureLog = { warn: note('warn'), info: () => undefined, error: note('error') };
  return { log, lines, errors: () => lines.filter((l) => l.level === 'error').map((l) => l.msg) };
}

/** Resolves with whether `p` settled within `ms` (a wedged queue never does); a rejection fails the test. */
export async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The patients the shared database holds alerts for, sorted. */
export async function alertedPatients(url: string): Promise<string[]> {
  return (await sharedRows<{ patient_id: string }>(url, 'SELECT patient_id FROM alerts ORDER BY patient_id')).map((r) => r.patient_id);
}
