import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Clinic, HOUR, MIN, nurse } from '../test/support/clinic.js';
import { postgresForFile } from '../test/support/postgres.js';
import { tempDir } from '../test/support/temp.js';
import { openState, patientDirectory } from '../app/state.js';
import { missedSince } from '../careloop/plan.js';
import { normaliseReading, wireReadingSchema } from '../domain/index.js';
import { AuditLog } from '../state/index.js';
import { openAlertsCore } from './index.js';
import { TEST_ALERT_TIMERS } from '../test/support/alert-timers.js';

/**
 * Review of the sliced sweep (2c3b1dc): what may happen between two of its slices. Each case failed before its fix.
 */

/** Every slice of a sweep is one work item: the clock the slices are measured on jumps 50 ms at each look. */
function oneItemPerSlice(): () => void {
  let t = 0;
  const spy = vi.spyOn(performance, 'now').mockImplementation(() => (t += 50));
  return () => spy.mockRestore();
}

describe('the sliced sweep, between its slices (embedded)', () => {
  let c: Clinic;
  afterEach(async () => {
    vi.restoreAllMocks();
    await c?.close();
  });

  const normal = { type: 'blood_pressure' as const, systolic: 120, diastolic: 80 };
  const low = { type: 'blood_pressure' as const, systolic: 84, diastolic: 55 };

  /** Patients whose readings arrive: each a work item of the sweep (missing data, device) that finds nothing. */
  async function busyClinic(n = 20) {
    c = await Clinic.open();
    const patients = [];
    for (let i = 0; i < n; i++) patients.push(await c.patient(['hypertension']));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    return patients;
  }

  /** Counts the pages of live alerts the sweep has read so far. */
  function pagesRead(): () => number {
    const table = c.alerts.table;
    const livePage = table.livePage.bind(table);
    let pages = 0;
    vi.spyOn(table, 'livePage').mockImplementation((after, limit) => {
      pages++;
      return livePage(after, limit);
    });
    return () => pages;
  }

  it('does not resolve, as if its patient were gone, an alert opened during the sweep for a patient registered after it began', async () => {
    await busyClinic();
    const pages = pagesRead();
    const restore = oneItemPerSlice();
    const sweeping = c.sweep();
    // A patient registered while the sweep works through the others, whose first reading is low.
    const newcomer = await c.patient(['hypertension']);
    c.alerts.evaluation.onCommitted([c.reading(newcomer, low)]);
    const opened = c.live(newcomer.patientId, 'bp.hypotension');
    expect(opened).toMatchObject({ status: 'open', severity: 'warning' });
    // The sweep has not reached the live alerts yet: it will find this one.
    expect(pages()).toBe(0);
    await sweeping;
    restore();
    expect(c.alerts.queries.get(opened!.id)!.alert).toMatchObject({ status: 'open', resolveNote: null });
    expect(c.notices(opened!.id)).toEqual(['alert.opened']);
  });

  it('does not resolve an acknowledged critical alert of a patient registered during the sweep (its reminders would stop)', async () => {
    await busyClinic();
    const pages = pagesRead();
    const restore = oneItemPerSlice();
    const sweeping = c.sweep();
    const newcomer = await c.patient();
    c.alerts.evaluation.onCommitted([c.reading(newcomer, { type: 'blood_pressure', systolic: 210, diastolic: 125 })]);
    const crisis = c.live(newcomer.patientId, 'bp.crisis')!;
    await c.alerts.actions.acknowledge(crisis.id, nurse, 'calling the patient');
    expect(pages()).toBe(0);
    await sweeping;
    restore();
    expect(c.alerts.queries.get(crisis.id)!.alert).toMatchObject({ status: 'acknowledged', severity: 'critical' });
  });

  it('does not resolve an alert opened during the sweep under a rule switched on again for the patient after it began', async () => {
    const [patient] = await busyClinic();
    // Hypotension switched off for this patient, and switched on again while the sweep runs.
    await c.alerts.actions.setOverride(patient!.patientId, 'bp.hypotension', { enabled: false }, nurse, { reason: 'on dialysis' });
    const pages = pagesRead();
    const restore = oneItemPerSlice();
    const sweeping = c.sweep();
    await c.alerts.actions.clearOverride(patient!.patientId, 'bp.hypotension', nurse);
    c.alerts.evaluation.onCommitted([c.reading(patient!, low)]);
    const opened = c.live(patient!.patientId, 'bp.hypotension')!;
    expect(opened).toMatchObject({ status: 'open' });
    expect(pages()).toBe(0);
    await sweeping;
    restore();
    expect(c.alerts.queries.get(opened.id)!.alert).toMatchObject({ status: 'open', resolveNote: null });
  });
});

describe('what the sliced sweep skips before any transaction (embedded)', () => {
  let c: Clinic;
  afterEach(async () => {
    vi.restoreAllMocks();
    await c?.close();
  });

  /** Counts the batches (write transactions) the sweep opens. */
  async function batchesDuring(run: () => Promise<void>): Promise<number> {
    const table = c.alerts.table;
    const begin = table.beginBatch.bind(table);
    let opened = 0;
    vi.spyOn(table, 'beginBatch').mockImplementation(() => {
      opened++;
      begin();
    });
    try {
      await run();
    } finally {
      vi.restoreAllMocks();
    }
    return opened;
  }

  it('takes no write lock, sweep after sweep, for a gap a snooze silences', async () => {
    c = await Clinic.open();
    const p = await c.patient(['hypertension']);
    await c.send(p, { type: 'blood_pressure', systolic: 120, diastolic: 80 });
    c.advance(40 * HOUR);
    // Away for a day: the nurse snoozes the missing-data rule before the gap opens.
    await c.alerts.actions.snooze(p.patientId, 'missing.blood_pressure', c.clock + 20 * HOUR, nurse, 'travelling, no cuff');
    c.advance(10 * HOUR);
    await c.sweep();
    expect(c.live(p.patientId, 'missing.blood_pressure')).toBeUndefined();
    c.advance(30_000);
    expect(await batchesDuring(() => c.sweep())).toBe(0);
  });

  it('takes no write lock, sweep after sweep, for a battery hovering in its band under a live alert', async () => {
    c = await Clinic.open();
    const p = await c.patient();
    c.state.registry.recordStatus(p.deviceId, { online: true, battery: 10 }, c.clock);
    await c.sweep();
    expect(c.live(p.patientId, 'device.battery_low')).toMatchObject({ status: 'open' });
    // Charged a little: inside the 5-point band, not yet clear.
    c.state.registry.recordStatus(p.deviceId, { online: true, battery: 17 }, c.clock);
    c.advance(30_000);
    await c.sweep();
    c.advance(30_000);
    expect(await batchesDuring(() => c.sweep())).toBe(0);
    expect(c.live(p.patientId, 'device.battery_low')).toMatchObject({ status: 'open' });
  });
});

describe('a sweep item that throws (embedded)', () => {
  const opened: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const close of opened.splice(0)) await close();
  });

  /**
   * The alerts component as the server wires it with the care loop: one patient's plan is judged on their stored
   * time zone, which this runtime no longer knows (tzdata changed under it; careloop's slots then throw RangeError).
   */
  async function clinicWithPlan() {
    const dir = await tempDir();
    const state = openState(dir.path);
    const clock = { now: Date.now() };
    const errors: string[] = [];
    const planned = new Set<string>();
    const twiceADay = { type: 'blood_pressure' as const, times: ['08:00', '20:00'], continuous: false, windowMinutes: 60, alertAfterMissed: 2 };
    const alerts = openAlertsCore({
      db: state.db,
      audit: new AuditLog(state.db, () => clock.now),
      history: { queryRaw: async () => [], queryAggregate: async () => [] },
      directory: patientDirectory(state.registry, () => new Map()),
      log: { warn: () => undefined, info: () => undefined, error: (_: object, msg: string) => void errors.push(msg) },
      ...TEST_ALERT_TIMERS,
      lateAfterMinutes: 60,
      now: () => clock.now,
      plan: (patient) =>
        planned.has(patient.id)
          ? (readingType) => (readingType === 'blood_pressure' ? { alertAfterMissed: 2, missedSince: (since, now) => missedSince(twiceADay, 'Mars/Olympus', since, now) } : undefined)
          : undefined,
    });
    opened.push(async () => {
      await alerts.evaluation.close();
      state.db.close();
      await dir.remove();
    });
    const patient = async (programmes: string[] = []) => {
      const p = await state.registry.addPatient({ name: 'P', programmes });
      const { device } = await state.registry.addDevice({ patientId: p.id });
      return { patientId: p.id, deviceId: device.id };
    };
    return { state, clock, alerts, errors, planned, patient };
  }

  it("one patient's failing missing-data item does not stop the escalation of every other patient's critical alert", async () => {
    const h = await clinicWithPlan();
    const inCrisis = await h.patient();
    const crisis = normaliseReading(wireReadingSchema.parse({ type: 'blood_pressure', systolic: 210, diastolic: 125, time: new Date(h.clock.now).toISOString() }), {
      ...inCrisis,
      receivedAt: h.clock.now,
      futureToleranceMs: 5 * MIN,
      maxAgeMs: 365 * 24 * HOUR,
      lateAfterMs: 15 * MIN,
    });
    if (!crisis.ok) throw new Error(crisis.message);
    h.alerts.evaluation.onCommitted([crisis.reading]);
    const alert = h.alerts.queries.list({ status: 'live' }).find((a) => a.ruleId === 'bp.crisis')!;
    expect(alert).toMatchObject({ severity: 'critical', status: 'open' });
    const planned = await h.patient(['hypertension']);
    h.planned.add(planned.patientId);
    h.clock.now += 16 * MIN;
    await h.alerts.evaluation.sweep().catch(() => undefined);
    expect(h.alerts.queries.get(alert.id)!.alert.escalationLevel).toBe(1);
    // The failure is said; the next sweep still escalates what comes due.
    expect(h.errors.length).toBeGreaterThan(0);
    h.clock.now += 15 * MIN;
    await h.alerts.evaluation.sweep().catch(() => undefined);
    expect(h.alerts.queries.get(alert.id)!.alert.escalationLevel).toBe(2);
  });
});

/**
 * A TCP proxy in front of PostgreSQL that can refuse (every connection open through it is reset, and new ones
 * are reset at once: a database restarting) and then pass again.
 */
async function refusingProxy(targetPort: number) {
  const open = new Set<Socket>();
  let refusing = false;
  const server: Server = createServer((client) => {
    client.on('error', () => undefined);
    if (refusing) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    upstream.on('error', () => undefined);
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => {
      open.delete(client);
      open.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', drop);
    upstream.on('close', drop);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    refuse() {
      refusing = true;
      for (const s of open) s.destroy();
      open.clear();
    },
    pass() {
      refusing = false;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const postgres = postgresForFile('sweep_review');

describe('the sliced sweep on shared alerts (PostgreSQL)', () => {
  it('stops during a PostgreSQL outage that began while a sweep waited for its transitions', async () => {
    const url = new URL(await postgres.database());
    const proxy = await refusingProxy(Number(url.port));
    url.port = String(proxy.port);
    const c = await Clinic.open(url.toString());
    let closing: Promise<void> | undefined;
    try {
      const p = await c.patient();
      await c.send(p, { type: 'blood_pressure', systolic: 210, diastolic: 125 });
      expect(c.live(p.patientId, 'bp.crisis')).toMatchObject({ status: 'open', escalationLevel: 0 });
      c.advance(16 * MIN);
      // The database goes away once the sweep has shared its readings and reaches the live alerts: the
      // escalation it finds waits for it, as the sweep does (settled()).
      const table = c.alerts.table;
      const livePage = table.livePage.bind(table);
      vi.spyOn(table, 'livePage').mockImplementation((after, limit) => {
        proxy.refuse();
        return livePage(after, limit);
      });
      const sweeping = c.sweep().catch(() => undefined);
      await sleep(500);
      expect(c.alerts.evaluation.waiting()).toBeGreaterThan(0);
      // SIGTERM: the instance stops, giving up what waits for the database (kept for the next start).
      closing = c.alerts.evaluation.close();
      const outcome = await Promise.race([closing.then(() => 'stopped'), sleep(30_000).then(() => 'still waiting after 30 s')]);
      expect(outcome).toBe('stopped');
      await sweeping;
    } finally {
      vi.restoreAllMocks();
      // The database back: whatever still waits for it (on main, the stop itself) can end.
      proxy.pass();
      await closing;
      await c.close();
      await proxy.close();
    }
  }, 120_000);
});
