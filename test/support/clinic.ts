import { openState, patientDirectory, shareStateAlerts, shareStateRegistry } from '../../app/state.js';
import { normaliseReading, wireReadingSchema, type Reading, type WireReadingInput } from '../../domain/index.js';
import { RejectionLog, SqliteStore } from '../../ingest/index.js';
import { AuditLog } from '../../state/index.js';
import { tempDir } from './temp.js';
import { openAlertsCore, type SharedAlerts } from '../../alerts/index.js';
import type { SharedRegistry } from '../../registry/index.js';
import type { Alert, AlertEvent } from '../../alerts/index.js';
import { TEST_ALERT_TIMERS } from './alert-timers.js';

/** A wire reading whose time is given relative to the clock (`minutesAgo`) or absolutely (`at`, epoch ms). */
type Timed<T> = T extends unknown ? Omit<T, 'time'> & { minutesAgo?: number; at?: number } : never;

/** The clinician the cases act as. */
export const nurse = { name: 'user:nurse', origin: '127.0.0.1' };

export const MIN = 60_000;
export const HOUR = 60 * MIN;
export const DAY = 24 * HOUR;

/**
 * A care team's view of the alerts component on a fake clock: a real state database and reading store in a
 * temp dir, readings through the real normaliser (so lateness and units are as in production), and every
 * event the feed emits. Time moves only when a test says so.
 */
export class Clinic {
  clock: number;
  readonly events: AlertEvent[] = [];
  readonly state;
  readonly store: SqliteStore;
  readonly rejections: RejectionLog;
  readonly audit: AuditLog;
  readonly alerts;
  #seq = 0;
  #removeDir: () => Promise<void> = async () => undefined;
  #shared: { registry: SharedRegistry | undefined; alerts: SharedAlerts | undefined } = { registry: undefined, alerts: undefined };

  /**
   * A clinic in a temp dir of its own, removed by close(). With `databaseUrl`, its registry and alerts are shared
   * in that PostgreSQL database (alerts/shared): the same cases then run on the shared alerts.
   */
  static async open(databaseUrl?: string): Promise<Clinic> {
    const dir = await tempDir();
    const state = openState(dir.path);
    const fail = (err: Error) => process.stderr.write(`clinic: shared state failed: ${err.stack ?? err.message}\n`);
    const registry = await shareStateRegistry(state, databaseUrl, fail);
    const alerts = await shareStateAlerts(state.db, databaseUrl, { info: () => undefined, warn: (o) => fail((o as { err: Error }).err) });
    const clinic = new Clinic(dir.path, Date.now(), { state, alerts });
    clinic.#shared = { registry, alerts };
    clinic.#removeDir = dir.remove;
    return clinic;
  }

  constructor(dataDir: string, start = Date.now(), opened?: { state: ReturnType<typeof openState>; alerts: SharedAlerts | undefined }) {
    this.clock = start;
    this.state = opened?.state ?? openState(dataDir);
    this.store = new SqliteStore(dataDir);
    this.rejections = new RejectionLog(this.state.db, { onLost: () => undefined });
    this.audit = new AuditLog(this.state.db, () => this.clock);
    this.alerts = openAlertsCore({
      db: this.state.db,
      audit: this.audit,
      history: this.store,
      directory: patientDirectory(this.state.registry, (since) => this.rejections.countsSince(since)),
      log: { warn: () => undefined, info: () => undefined, error: () => undefined },
      ...TEST_ALERT_TIMERS,
      lateAfterMinutes: 60,
      now: () => this.clock,
      shared: opened?.alerts,
    });
    this.alerts.feed.on('event', (e) => this.events.push(e));
  }

  async patient(programmes: string[] = [], timeZone?: string): Promise<{ patientId: string; deviceId: string }> {
    const patient = await this.state.registry.addPatient({ name: `Patient ${++this.#seq}`, programmes, timeZone });
    const { device } = await this.state.registry.addDevice({ patientId: patient.id });
    return { patientId: patient.id, deviceId: device.id };
  }

  /** Readings as a device publishes them, `minutesAgo` before the clock; evaluated as the server does. */
  async send(who: { patientId: string; deviceId: string }, ...items: Timed<WireReadingInput>[]): Promise<Reading[]> {
    const readings = items.map((item) => this.reading(who, item));
    await this.store.write(readings);
    this.alerts.evaluation.onCommitted(readings);
    await this.alerts.evaluation.onStored(readings);
    // Shared alerts write in the background; the cases read what the readings did.
    await this.alerts.evaluation.settled();
    return readings;
  }

  /** One reading as the server normalises it, neither stored nor evaluated (a test evaluates several as one commit). */
  reading(who: { patientId: string; deviceId: string }, { minutesAgo, at, ...rest }: Timed<WireReadingInput>): Reading {
    const wire = wireReadingSchema.parse({ ...rest, time: new Date(at ?? this.clock - (minutesAgo ?? 0) * MIN).toISOString() });
    const result = normaliseReading(wire, { ...who, receivedAt: this.clock, futureToleranceMs: 5 * MIN, maxAgeMs: 365 * DAY, lateAfterMs: 15 * MIN });
    if (!result.ok) throw new Error(result.message);
    return result.reading;
  }

  advance(ms: number): void {
    this.clock += ms;
  }

  /** The scheduled sweep, once: done when its promise settles (it works in slices, yielding between them). */
  sweep(): Promise<void> {
    return this.alerts.evaluation.sweep();
  }

  live(patientId: string, ruleId: string): Alert | undefined {
    return this.alerts.queries.list({ patientId, status: 'live' }).find((a) => a.ruleId === ruleId);
  }

  all(patientId: string, ruleId: string): Alert[] {
    return this.alerts.queries.list({ patientId }).filter((a) => a.ruleId === ruleId);
  }

  /** Notifying events (everything but alert.updated) of one alert, as `type` or `type:change`. */
  notices(alertId: number): string[] {
    return this.events.filter((e) => e.alert.id === alertId && e.type !== 'alert.updated').map((e) => (e.change ? `${e.type}:${e.change}` : e.type));
  }

  async close(): Promise<void> {
    await this.alerts.evaluation.close();
    await this.#shared.alerts?.close();
    await this.#shared.registry?.close();
    this.rejections.close();
    await this.store.close();
    this.state.db.close();
    await this.#removeDir();
  }
}
