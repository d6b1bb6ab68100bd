import Database from 'better-sqlite3';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Clinic, HOUR, MIN, nurse } from '../test/support/clinic.js';
import { startTestVigil, type TestVigil } from '../test/support/vigil.js';
import { PROGRAMMES } from '../domain/index.js';

/**
 * Second review of the sliced sweep, after f0b1606 (a slice reads and decides, then writes its changes in one
 * batch) and a9e8048 (each step of a sweep isolated). Each case failed before its fix.
 */

const normal = { type: 'blood_pressure' as const, systolic: 120, diastolic: 80 };
const crisis = { type: 'blood_pressure' as const, systolic: 210, diastolic: 125 };
const low = { type: 'blood_pressure' as const, systolic: 84, diastolic: 55 };

describe("the sweep with the care loop's plans, wired as the server wires them", () => {
  let t: TestVigil | undefined;
  afterEach(async () => {
    vi.restoreAllMocks();
    await t?.stop();
    t = undefined;
  });

  it("reads each patient's plan once per sweep, and the registry for none of them", async () => {
    // Neither the sweep nor the care loop runs on its own during the case: it sweeps once, by hand.
    t = await startTestVigil({ VIGIL_CARE_CRON: '0 0 0 1 1 *', VIGIL_ALERT_SWEEP_CRON: '0 0 0 1 1 *' });
    const { registry, care, alerts } = t.vigil;
    const patients = 20;
    for (let i = 0; i < patients; i++) {
      // In every programme: five missing-data rules each, every one of them set by the plan.
      const p = await registry.addPatient({ name: `Planned ${i}`, timeZone: 'UTC', programmes: [...PROGRAMMES] });
      await registry.addDevice({ patientId: p.id });
      care.plans.set(
        p.id,
        'custom',
        [
          { type: 'blood_pressure', times: ['08:00', '20:00'] },
          { type: 'glucose', continuous: true },
          { type: 'weight', times: ['07:30'] },
          { type: 'spo2', times: ['09:00'] },
        ],
        'user:dr',
        Date.now(),
      );
    }
    const planReads = vi.spyOn(care.plans, 'get');
    const patientReads = vi.spyOn(registry, 'getPatient');
    await alerts.evaluation.sweep();
    // The sweep has every patient, their time zone with them, from its one read of the registry. Before: the care
    // loop read the plan and the patient again for each rule (2,000 such patients: 10,000 of each per sweep, the
    // sweep 15-25 times longer than without plans).
    expect(planReads.mock.calls.length).toBeLessThanOrEqual(patients);
    expect(patientReads).not.toHaveBeenCalled();
  });
});

describe('the sliced sweep and its writes (embedded)', () => {
  let c: Clinic;
  afterEach(async () => {
    vi.restoreAllMocks();
    await c?.close();
  });

  /** Patients in every programme whose gaps open at the next sweep (their one reading is 80.5 h old). */
  async function gapsDue(n: number) {
    c = await Clinic.open();
    const patients = [];
    for (let i = 0; i < n; i++) patients.push(await c.patient([...PROGRAMMES]));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    // The readings' times saved before the lock is taken below (the sweep's first write, outside its batches).
    await c.sweep();
    c.advance(80.52 * HOUR);
    return patients;
  }

  it("asks the registry whether a patient is still there once per slice, not once for each of the patient's writes", async () => {
    const patients = await gapsDue(30);
    const reads = vi.spyOn(c.state.registry, 'getPatient');
    await c.sweep();
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toMatchObject({ status: 'open' });
    // Four gaps each, written in the slice that found them: one read of each patient. Before: one per write (at
    // 1,000 such patients, 4,000 reads and about a third of the sweep).
    expect(reads.mock.calls.length).toBeLessThanOrEqual(patients.length);
  });

  it('stops at a write lock refused past the busy timeout, rather than waiting it out again for every write', async () => {
    const patients = await gapsDue(15);
    // Another process holds the write lock throughout (an operator's sqlite3 shell, a CLI stopped mid-transaction).
    const busyMs = 100;
    c.state.db.pragma(`busy_timeout = ${busyMs}`);
    const cli = new Database(c.state.db.name, { timeout: 0 });
    cli.exec('BEGIN IMMEDIATE');
    const table = c.alerts.table;
    const begin = table.beginBatch.bind(table);
    let tries = 0;
    vi.spyOn(table, 'beginBatch').mockImplementation(() => {
      tries++;
      begin();
    });
    const started = performance.now();
    try {
      await c.sweep().catch(() => undefined);
    } finally {
      cli.exec('ROLLBACK');
      cli.close();
    }
    // Before: 60 writes, each waiting out the busy timeout on the broker's thread (5 s each in production: the
    // slice held the thread for 64 x 5 s), with nothing written.
    expect(tries).toBe(1);
    expect(performance.now() - started).toBeLessThan(20 * busyMs);
    vi.restoreAllMocks();
    // The lock free again: the next sweep writes what this one could not.
    await c.sweep();
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toMatchObject({ status: 'open' });
  });

  it("escalates the critical alerts after one whose timers could not be read, in the sweep that met it", async () => {
    c = await Clinic.open();
    // Live alerts are read in (patient, rule, subject) order: the failing one comes first.
    const first = await c.state.registry.addPatient({ id: 'p-aa-dropped', name: 'Dropped' });
    await c.state.registry.addDevice({ patientId: first.id });
    const second = await c.state.registry.addPatient({ id: 'p-zz-crisis', name: 'In crisis' });
    const dev = await c.state.registry.addDevice({ patientId: second.id });
    await c.send({ patientId: first.id, deviceId: 'x' }, low);
    await c.send({ patientId: second.id, deviceId: dev.device.id }, crisis);
    const hypotension = c.live(first.id, 'bp.hypotension')!;
    await c.alerts.actions.acknowledge(hypotension.id, nurse, 'seen');
    const alert = c.live(second.id, 'bp.crisis')!;
    expect(alert).toMatchObject({ severity: 'critical', status: 'open', escalationLevel: 0 });
    // The rule is switched off for the first patient: their alert is orphaned, and the sweep asks the registry
    // again before resolving it, a read that fails this once (an I/O error, a database being recovered).
    await c.alerts.actions.setOverride(first.id, 'bp.hypotension', { enabled: false }, nurse, { reason: 'on dialysis' });
    const getPatient = c.state.registry.getPatient.bind(c.state.registry);
    vi.spyOn(c.state.registry, 'getPatient').mockImplementation((id) => {
      if (id === first.id) throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
      return getPatient(id);
    });
    c.advance(16 * MIN);
    await c.sweep();
    // Before: the page of live alerts stopped at the first one, and every page after it was never read.
    expect(c.live(second.id, 'bp.crisis')).toMatchObject({ id: alert.id, escalationLevel: 1 });
    expect(c.notices(alert.id)).toEqual(['alert.opened', 'alert.escalated']);
    vi.restoreAllMocks();
    await c.sweep();
    expect(c.alerts.queries.get(hypotension.id)!.alert).toMatchObject({ status: 'resolved', resolveNote: 'the rule no longer applies to this patient' });
  });
});
