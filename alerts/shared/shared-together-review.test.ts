import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { openState, patientDirectory, shareStateAlerts, shareStateRegistry } from '../../app/state.js';
import { normaliseReading, wireReadingSchema, type Reading, type WireReadingInput } from '../../domain/index.js';
import { VigilError } from '../../domain/index.js';
import { AuditLog, openPostgres, type PostgresState } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { tempDir } from '../../test/support/temp.js';
import { openAlertsCore } from '../index.js';
import { sharedTransitions } from './shared-transitions.js';

/**
 * Review of the batched shared transitions (d5126d5, 08c5677): a batch whose COMMIT reached PostgreSQL but whose
 * answer was lost (the connection dropped during COMMIT) must not be written a second time.
 */
const MIN = 60_000;
const noHistory = async (): Promise<never> => {
  throw new Error('no reading history in this test');
};
const postgres = postgresForFile('shared_together_review');
const crisis = { type: 'blood_pressure', systolic: 210, diastolic: 125, unit: 'mmHg' } as WireReadingInput;
type Log = { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
const quiet: Log = { warn: () => undefined, info: () => undefined, error: () => undefined };

/** One shared instance whose locked transactions pass through `wrap` (to lose a COMMIT's answer). */
async function instance(url: string, clock: { now: number }, patients: number, wrap: (locked: PostgresState['locked']) => PostgresState['locked']) {
  const dir = await tempDir();
  const state = openState(dir.path);
  const registry = await shareStateRegistry(state, url, (err) => quiet.warn({ err }, 'registry'));
  const opened = (await shareStateAlerts(state.db, url, quiet))!;
  const own = await openPostgres(url, [], () => undefined);
  const shared = { ...opened, transitions: (table: Parameters<typeof opened.transitions>[0]) => sharedTransitions(table, { locked: wrap(own.locked) }, opened.replica) };
  const alerts = openAlertsCore({
    db: state.db,
    audit: new AuditLog(state.db, () => clock.now),
    history: { queryRaw: noHistory, queryAggregate: noHistory },
    directory: patientDirectory(state.registry, () => new Map()),
    log: quiet,
    escalateAfterMinutes: 15,
    realertHours: { critical: 4, warning: 24, info: 0 },
    snoozeMaxHours: 24,
    lateAfterMinutes: 24 * 60,
    now: () => clock.now,
    shared,
  });
  const devices: { patientId: string; deviceId: string }[] = [];
  for (let i = 0; i < patients; i++) {
    const patient = await state.registry.addPatient({ name: `Patient ${i}`, programmes: ['hypertension'] });
    const { device } = await state.registry.addDevice({ patientId: patient.id });
    devices.push({ patientId: patient.id, deviceId: device.id });
  }
  return {
    alerts,
    reading(i: number, wire: WireReadingInput, at: number): Reading {
      const { patientId, deviceId } = devices[i]!;
      const parsed = wireReadingSchema.parse({ ...wire, time: new Date(at).toISOString() });
      const result = normaliseReading(parsed, { deviceId, patientId, receivedAt: clock.now, futureToleranceMs: 5 * MIN, maxAgeMs: 24 * 60 * MIN, lateAfterMs: 24 * 60 * MIN });
      if (!result.ok) throw new Error(result.message);
      return result.reading;
    },
    async close() {
      await alerts.evaluation.close();
      await own.close();
      await opened.close();
      await registry?.close();
      state.db.close();
      await dir.remove();
    },
  };
}

async function rows<Row>(url: string, sql: string): Promise<Row[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    return (await client.query(sql)).rows as Row[];
  } finally {
    await client.end();
  }
}

describe('batched shared transitions, reviewed', () => {
  const open: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
  });

  it('writes a batch once when the connection drops during its COMMIT (the COMMIT took effect, its answer was lost)', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    let lost = false;
    // The first transaction that wrote commits, and then its caller hears what a dropped connection says.
    const wrap = (locked: PostgresState['locked']): PostgresState['locked'] => async (key, work) => {
      let wrote = false;
      const result = await locked(key, (query) => work((sql, params) => ((wrote ||= !sql.startsWith('SELECT')), query(sql, params))));
      if (wrote && !lost) {
        lost = true;
        throw new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds', { cause: new Error('Connection terminated unexpectedly') });
      }
      return result;
    };
    const a = await instance(url, clock, 20, wrap);
    open.push(a);
    a.alerts.evaluation.onCommitted(Array.from({ length: 20 }, (_, i) => a.reading(i, crisis, clock.now - MIN)));
    await a.alerts.evaluation.settled();
    expect(lost).toBe(true);
    const found = await rows<{ patient_id: string; count: number; events: number }>(
      url,
      'SELECT a.patient_id, a.count, (SELECT count(*)::int FROM alert_events e WHERE e.alert_id = a.id) AS events FROM alerts a ORDER BY a.id',
    );
    expect(found).toHaveLength(20);
    // Each crisis reading is one finding: one alert, counted once, one event.
    for (const r of found) expect({ count: r.count, events: r.events }, r.patient_id).toEqual({ count: 1, events: 1 });
  }, 60_000);
  it('writes a batch once when its COMMIT failed with the connection (rolled back): nothing is taken as written that was not', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    let lost = false;
    const dropped = () => new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds', { cause: new Error('Connection terminated unexpectedly') });
    // The first transaction that wrote does all its work, then fails as a COMMIT that never reached PostgreSQL.
    const wrap = (locked: PostgresState['locked']): PostgresState['locked'] => async (key, work) =>
      locked(key, async (query) => {
        let wrote = false;
        const result = await work((sql, params) => ((wrote ||= !sql.startsWith('SELECT')), query(sql, params)));
        if (wrote && !lost) {
          lost = true;
          throw dropped();
        }
        return result;
      });
    const a = await instance(url, clock, 20, wrap);
    open.push(a);
    a.alerts.evaluation.onCommitted(Array.from({ length: 20 }, (_, i) => a.reading(i, crisis, clock.now - MIN)));
    await a.alerts.evaluation.settled();
    expect(lost).toBe(true);
    const found = await rows<{ patient_id: string; count: number; events: number }>(
      url,
      'SELECT a.patient_id, a.count, (SELECT count(*)::int FROM alert_events e WHERE e.alert_id = a.id) AS events FROM alerts a ORDER BY a.id',
    );
    expect(found).toHaveLength(20);
    for (const r of found) expect({ count: r.count, events: r.events }, r.patient_id).toEqual({ count: 1, events: 1 });
    expect(a.alerts.evaluation.waiting()).toBe(0);
  }, 60_000);
});
