import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic, HOUR, nurse } from '../test/support/clinic.js';

/**
 * The sweep runs on the broker's thread every 30 s and looks at every patient and every live alert. It reads
 * them once per run, and takes the state database's write lock only for alerts it changes: a sweep over 8,000
 * live missing-data alerts held the thread about 0.5 s and the lock most of it, each patient's rules read with
 * three statements and each live alert in a savepoint of its own, though nothing had changed. The CLI's
 * acknowledgements wait for that lock (busy_timeout 5 s).
 */
describe('what a sweep reads and locks (embedded)', () => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open();
  });
  afterEach(() => c.close());

  const normal = { type: 'blood_pressure' as const, systolic: 120, diastolic: 80 };

  /** Counts the batches (write transactions) the sweeps open while `run` runs. */
  async function batchesDuring(run: () => Promise<void>): Promise<number> {
    const table = c.alerts.table;
    const begin = table.beginBatch.bind(table);
    let opened = 0;
    table.beginBatch = () => {
      opened++;
      begin();
    };
    try {
      await run();
    } finally {
      table.beginBatch = begin;
    }
    return opened;
  }

  it('takes no write lock when every gap reads as it did, and writes once one changes', async () => {
    const patients = await Promise.all(Array.from({ length: 40 }, () => c.patient(['hypertension', 'heart_failure'])));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    c.advance(49.5 * HOUR);
    // Opening 80 alerts may take more than one slice of the sweep, each slice a batch.
    expect(await batchesDuring(() => c.sweep())).toBeGreaterThan(0);
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toMatchObject({ latestValues: { gapHours: 49.5 } });
    c.advance(30_000);
    expect(await batchesDuring(() => c.sweep())).toBe(0);
    c.advance(6 * 60_000);
    expect(await batchesDuring(() => c.sweep())).toBeGreaterThan(0);
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toMatchObject({ count: 2, latestValues: { gapHours: 49.6 } });
  });

  it("reads no patient one by one, and still applies each patient's own overrides", async () => {
    const patients = await Promise.all(Array.from({ length: 40 }, () => c.patient(['hypertension'])));
    const watched = patients[0]!;
    await c.alerts.actions.setOverride(watched.patientId, 'missing.blood_pressure', { maxGapHours: 24 }, nurse, { reason: 'titrating medication' });
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    c.advance(30 * HOUR);
    const registry = c.state.registry;
    const getPatient = registry.getPatient.bind(registry);
    let reads = 0;
    registry.getPatient = (id: string) => {
      reads++;
      return getPatient(id);
    };
    await c.sweep();
    registry.getPatient = getPatient;
    // One read: whether the patient an alert is opened for is still in the registry.
    expect(reads).toBe(1);
    expect(c.live(watched.patientId, 'missing.blood_pressure')).toMatchObject({ status: 'open', message: expect.stringMatching(/24 h/) });
    for (const p of patients.slice(1)) expect(c.live(p.patientId, 'missing.blood_pressure')).toBeUndefined();
  });

  it('still escalates a critical alert and resolves an alert whose rule no longer applies', async () => {
    const [kept, dropped] = await Promise.all([c.patient(['hypertension']), c.patient(['hypertension'])]);
    c.alerts.evaluation.onCommitted([kept, dropped].map((p) => c.reading(p, normal)));
    c.advance(49.5 * HOUR);
    await c.sweep();
    await c.send(kept, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    const crisis = c.live(kept.patientId, 'bp.crisis')!;
    await c.state.registry.setProgrammes(dropped.patientId, []);
    // Unacknowledged for longer than the escalation period (15 min in the clinic).
    c.advance(16 * 60_000);
    await c.sweep();
    expect(c.live(kept.patientId, 'bp.crisis')).toMatchObject({ id: crisis.id, escalationLevel: 1 });
    expect(c.notices(crisis.id)).toEqual(['alert.opened', 'alert.escalated']);
    expect(c.all(dropped.patientId, 'missing.blood_pressure')).toEqual([expect.objectContaining({ status: 'resolved', resolveNote: 'the rule no longer applies to this patient' })]);
  });

  it("yields between slices: the broker's thread turns, and another process's write gets the lock", async () => {
    const patients = await Promise.all(Array.from({ length: 300 }, () => c.patient(['hypertension', 'diabetes', 'heart_failure', 'copd'])));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    c.advance(80 * HOUR);
    await c.sweep();
    // Six minutes on, each of the 1,200 gaps reads a tenth of an hour longer: every alert is written.
    c.advance(6 * 60_000);
    // The CLI's connection, without a busy timeout: it gets the write lock only between two slices.
    const cli = new Database(c.state.db.name, { timeout: 0 });
    let sweeping = true;
    let turns = 0;
    let locked = 0;
    const turn = () => {
      if (!sweeping) return;
      turns++;
      try {
        cli.exec('BEGIN IMMEDIATE; ROLLBACK');
        locked++;
      } catch (err) {
        expect((err as { code?: string }).code).toBe('SQLITE_BUSY');
      }
      setImmediate(turn);
    };
    setImmediate(turn);
    await c.sweep().finally(() => (sweeping = false));
    cli.close();
    expect(turns).toBeGreaterThan(1);
    expect(locked).toBeGreaterThan(1);
    for (const p of patients) expect(c.live(p.patientId, 'missing.glucose')).toMatchObject({ count: 2, latestValues: { gapHours: 80.1 } });
  });

  it('escalates every live critical alert, page after page, once each though a batch is lost', async () => {
    const patients = await Promise.all(Array.from({ length: 450 }, () => c.patient()));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 })));
    const table = c.alerts.table;
    const commitBatch = table.commitBatch.bind(table);
    let failures = 0;
    table.commitBatch = () => {
      if (failures++ === 1) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      commitBatch();
    };
    c.advance(16 * 60_000);
    await c.sweep();
    table.commitBatch = commitBatch;
    expect(failures).toBeGreaterThan(1);
    for (const p of patients) {
      const alert = c.live(p.patientId, 'bp.crisis')!;
      expect(alert.escalationLevel).toBe(1);
      expect(c.notices(alert.id)).toEqual(['alert.opened', 'alert.escalated']);
    }
  });
});
