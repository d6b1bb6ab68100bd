import { afterEach, describe, expect, it } from 'vitest';
import type { PostgresState } from '../../state/index.js';
import type { WireReadingInput } from '../../domain/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { crisis, sharedAlertsInstance, sharedRows as rows, type FixtureLog as Log } from '../../test/support/shared-alerts-fixture.js';
import { waitFor } from '../../test/support/temp.js';
import type { Alert } from '../types.js';

/**
 * Shared transitions committed together (alerts/shared/shared-transitions.ts, `runTogether`): what a batch
 * writes must be what the transitions write one by one, in order, each once, whatever fails in the middle.
 */
const MIN = 60_000;

const postgres = postgresForFile('shared_together');

const normal = { type: 'blood_pressure', systolic: 122, diastolic: 78, unit: 'mmHg' } as WireReadingInput;
const low = { type: 'blood_pressure', systolic: 82, diastolic: 52, unit: 'mmHg' } as WireReadingInput;

/**
 * One instance's alerts (test/support/shared-alerts-fixture.ts), with what a person reads of a patient's alerts.
 * `statements`: the statements its shared transitions send under the write lock, noted there.
 */
async function instance(url: string | undefined, clock: { now: number }, patients: number, log?: Log, statements?: string[]) {
  const noting = statements && ((locked: PostgresLocked): PostgresLocked => (key, work) => locked(key, (query) => work((sql, params) => (statements.push(sql), query(sql, params)))));
  const i = await sharedAlertsInstance({ url, clock, patients, log, locked: noting });
  const { alerts, devices } = i;
  return {
    ...i,
    /** Patient `i`'s alerts and each one's announced events, as a person reads them (no ids). */
    summary(p: number) {
      return alerts.queries
        .list({ patientId: devices[p]!.patientId })
        .sort((a, b) => a.ruleId.localeCompare(b.ruleId) || a.openedAt - b.openedAt)
        .map((a: Alert) => {
          const { id, patientId: _patientId, ...rest } = a;
          return { ...rest, events: alerts.queries.get(id)!.events.map((e) => e.type) };
        });
    },
    /** Patient `i`'s events across all their alerts, in the order they were numbered. */
    timeline(p: number) {
      return alerts.queries
        .list({ patientId: devices[p]!.patientId })
        .flatMap((a) => alerts.queries.get(a.id)!.events.map((e) => ({ seq: e.seq, what: `${a.ruleId} ${e.type}` })))
        .sort((a, b) => a.seq - b.seq)
        .map((e) => e.what);
    },
  };
}
type Instance = Awaited<ReturnType<typeof instance>>;
type PostgresLocked = PostgresState['locked'];

/** Each alert's opened events and its count, by patient, in the shared database. */
async function openedPerPatient(url: string): Promise<Map<string, { opened: number; count: number }[]>> {
  const found = await rows<{ patient_id: string; opened: number; count: number }>(
    url,
    "SELECT a.patient_id, a.count, (SELECT count(*)::int FROM alert_events e WHERE e.alert_id = a.id AND e.type = 'alert.opened') AS opened FROM alerts a ORDER BY a.id",
  );
  const byPatient = new Map<string, { opened: number; count: number }[]>();
  for (const r of found) byPatient.set(r.patient_id, [...(byPatient.get(r.patient_id) ?? []), { opened: r.opened, count: r.count }]);
  return byPatient;
}

/** How many PostgreSQL transactions wrote the shared alert events. */
async function transactionsThatWrote(url: string): Promise<number> {
  return (await rows<{ n: number }>(url, 'SELECT count(DISTINCT xmin::text)::int AS n FROM alert_events'))[0]!.n;
}

/** A function and a trigger on the shared alerts' inserts, doing `body` (PL/pgSQL) for one patient's. */
async function onInsertOf(url: string, patientId: string, body: string): Promise<void> {
  await rows(url, `CREATE FUNCTION test_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW.patient_id = '${patientId}' THEN ${body} END IF; RETURN NEW; END $$`);
  await rows(url, 'CREATE TRIGGER test_on_insert BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION test_on_insert()');
}

describe('shared transitions committed together', () => {
  const open: Instance[] = [];
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
  });

  it('writes what the embedded alerts write, each patient\'s transitions in order, in far fewer transactions', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const PATIENTS = 12;
    const STEPS = 16;
    const statements: string[] = [];
    const shared = await instance(url, clock, PATIENTS, undefined, statements);
    open.push(shared);
    const embedded = await instance(undefined, clock, PATIENTS);
    open.push(embedded);
    // Each patient's readings every 5 minutes over 80 minutes, all of them in one commit: a crisis that clears and
    // stays back in range (it latches), one that comes back, hypotension that resolves, repeats, alternations.
    const patterns: ((step: number) => WireReadingInput)[] = [
      (s) => (s === 0 ? crisis : normal),
      (s) => (s === 0 || s === STEPS - 2 ? crisis : normal),
      (s) => (s === 0 ? low : normal),
      () => crisis,
      (s) => (s % 2 === 0 ? crisis : normal),
      (s) => (s < 3 ? low : s < 6 ? crisis : normal),
    ];
    const from = clock.now - STEPS * 5 * MIN;
    const readingsOf = (i: Instance) =>
      Array.from({ length: STEPS }, (_, step) => Array.from({ length: PATIENTS }, (_, p) => i.reading(p, patterns[p % patterns.length]!(step), from + step * 5 * MIN))).flat();
    embedded.alerts.evaluation.onCommitted(readingsOf(embedded));
    shared.alerts.evaluation.onCommitted(readingsOf(shared));
    await shared.alerts.evaluation.settled();

    for (let p = 0; p < PATIENTS; p++) {
      expect(shared.summary(p), `patient ${p}`).toEqual(embedded.summary(p));
      // In the same order across the patient's alerts (a reading can open one and clear another).
      expect(shared.timeline(p), `patient ${p}`).toEqual(embedded.timeline(p));
    }
    // Something of each kind happened (the comparison is not of empty lists).
    const types = new Set(Array.from({ length: PATIENTS }, (_, p) => shared.summary(p).flatMap((a) => a.events)).flat());
    expect([...types].sort()).toEqual(expect.arrayContaining(['alert.opened', 'alert.resolved', 'alert.renotified']));
    // A batch ends where a patient's next transition would read what it wrote: about one per step, not one per transition.
    const written = (await rows<{ n: number }>(url, 'SELECT count(*)::int AS n FROM alert_events'))[0]!.n;
    expect(written).toBeGreaterThan(4 * STEPS);
    expect(await transactionsThatWrote(url)).toBeLessThanOrEqual(STEPS + 2);
    // Each batch in one statement: none refused and written one by one.
    expect(statements.filter((sql) => !sql.startsWith('SELECT') && !sql.startsWith('WITH ins AS'))).toEqual([]);
  });

  it('commits 250 patients\' crises in a handful of transactions of one statement each, each alert once', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const statements: string[] = [];
    const a = await instance(url, clock, 250, undefined, statements);
    open.push(a);
    a.alerts.evaluation.onCommitted(a.devices.map((_, i) => a.reading(i, crisis, clock.now - MIN)));
    await a.alerts.evaluation.settled();
    const perPatient = await openedPerPatient(url);
    expect(perPatient.size).toBe(250);
    for (const alerts of perPatient.values()) expect(alerts).toEqual([{ opened: 1, count: 1 }]);
    // TOGETHER_MAX (100) at a time, each batch one statement besides the replica's catch-up (not one per alert).
    expect(await transactionsThatWrote(url)).toBe(3);
    const writes = statements.filter((sql) => !sql.startsWith('SELECT'));
    expect(writes).toHaveLength(3);
    expect(writes.every((sql) => sql.startsWith('WITH ins AS'))).toBe(true);
    expect(a.alerts.queries.list({ status: 'live' })).toHaveLength(250);
  });

  it('fails alone a transition whose write PostgreSQL refuses in the middle of a batch, keeps its finding, and writes the others once', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const errors: unknown[] = [];
    const a = await instance(url, clock, 30, { warn: () => undefined, info: () => undefined, error: (o: object) => void errors.push((o as { err: unknown }).err) });
    open.push(a);
    const refused = a.devices[15]!.patientId;
    await onInsertOf(url, refused, "RAISE EXCEPTION 'refused for the test';");
    a.alerts.evaluation.onCommitted(a.devices.map((_, i) => a.reading(i, crisis, clock.now - MIN)));
    await a.alerts.evaluation.settled();

    const perPatient = await openedPerPatient(url);
    expect(perPatient.has(refused)).toBe(false);
    expect(perPatient.size).toBe(29);
    for (const alerts of perPatient.values()) expect(alerts).toEqual([{ opened: 1, count: 1 }]);
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('refused for the test');
    // The 15 before it again without it, then it alone, then the 14 after it.
    expect(await transactionsThatWrote(url)).toBe(2);
    expect(a.alerts.evaluation.waiting()).toBe(0);
    // Not written: kept in the data dir for a later try (dropped, it was an alert that never opened).
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
    expect(a.alerts.evaluation.findingsGivenUp()).toBe(1);
    await waitFor(() => a.alerts.queries.list({ status: 'live' }).length === 29);
  });

  it('fails alone a transition whose alert changed under it (its version), keeps its finding, and writes the ones before and after it once', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const errors: unknown[] = [];
    const statements: string[] = [];
    const a = await instance(url, clock, 20, { warn: () => undefined, info: () => undefined, error: (o: object) => void errors.push((o as { err: unknown }).err) }, statements);
    open.push(a);
    a.alerts.evaluation.onCommitted(a.devices.map((_, i) => a.reading(i, crisis, clock.now - 2 * MIN)));
    await a.alerts.evaluation.settled();
    // Out of step: PostgreSQL's alert moved on without an event this replica could read.
    const changed = a.devices[10]!.patientId;
    await rows(url, 'UPDATE alerts SET version = version + 5 WHERE patient_id = $1', [changed]);
    a.alerts.evaluation.onCommitted(a.devices.map((_, i) => a.reading(i, crisis, clock.now - MIN)));
    await a.alerts.evaluation.settled();

    const perPatient = await openedPerPatient(url);
    for (const [patientId, alerts] of perPatient) expect(alerts, patientId).toEqual([{ opened: 1, count: patientId === changed ? 1 : 2 }]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'VIGIL_ERR_CONFLICT' });
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
    expect(a.alerts.evaluation.findingsGivenUp()).toBe(1);
    // Told by the batch's one statement, which wrote the others: nothing was written again one by one.
    expect(statements.filter((sql) => !sql.startsWith('SELECT') && !sql.startsWith('WITH ins AS'))).toEqual([]);
  });

  it('writes every finding once when PostgreSQL stops in the middle of a batch, keeping the unwritten ones meanwhile', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const outage: Log = { warn: () => undefined, info: () => undefined, error: () => undefined };
    const a = await instance(url, clock, 250, outage);
    open.push(a);
    // The second batch (patients 100-199) waits inside PostgreSQL at patient 150's insert.
    await onInsertOf(url, a.devices[150]!.patientId, 'PERFORM pg_sleep(3);');
    a.alerts.evaluation.onCommitted(a.devices.map((_, i) => a.reading(i, crisis, clock.now - MIN)));
    expect(a.alerts.evaluation.waiting()).toBe(250);
    await waitFor(async () => (await rows<{ n: number }>(url, 'SELECT count(*)::int AS n FROM alerts'))[0]!.n >= 100, { timeoutMs: 20_000 });
    await postgres.server().stop();
    try {
      // The first batch is written; the rest wait, kept in the state database for a restart.
      await waitFor(() => a.alerts.evaluation.findingsWaiting() === 150, { timeoutMs: 20_000, what: 'the 150 unwritten findings kept' });
      expect(a.alerts.evaluation.waiting()).toBe(150);
    } finally {
      await postgres.server().start();
    }
    await a.alerts.evaluation.settled();
    const perPatient = await openedPerPatient(url);
    expect(perPatient.size).toBe(250);
    for (const alerts of perPatient.values()) expect(alerts).toEqual([{ opened: 1, count: 1 }]);
    expect(a.alerts.evaluation.findingsWaiting()).toBe(0);
    expect(a.alerts.evaluation.waiting()).toBe(0);
    await waitFor(() => a.alerts.queries.list({ status: 'live' }).length === 250, { timeoutMs: 20_000 });
  }, 90_000);
});
