import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic, HOUR, nurse } from '../test/support/clinic.js';

/**
 * The transitions of one commit's readings, and of one sweep, are written in one transaction of the state
 * database: an alert storm used to cost one fsync per alert on the broker's thread, every device's PUBACK behind
 * them (bench/storm.ts). Counted here as WAL frames: a transaction writes each page it changed once, so alerts
 * written one transaction each write their pages again and again.
 */
describe('alert transitions in batches (embedded)', () => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open();
  });
  afterEach(() => c.close());

  /** WAL frames written since the last call (the WAL is checkpointed and emptied each time). */
  const framesSince = (() => {
    const checkpoint = () => (c.state.db.pragma('wal_checkpoint(TRUNCATE)') as { log: number }[])[0]!.log;
    return { reset: checkpoint, read: () => (c.state.db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]!.log };
  })();

  const crisis = { type: 'blood_pressure' as const, systolic: 200, diastolic: 120 };
  const normal = { type: 'blood_pressure' as const, systolic: 120, diastolic: 80 };

  it("writes the alerts one commit's readings open in one transaction, and each still opens and notifies once", async () => {
    const patients = await Promise.all(Array.from({ length: 40 }, () => c.patient()));
    const readings = patients.map((p) => c.reading(p, crisis));
    framesSince.reset();
    c.alerts.evaluation.onCommitted(readings);
    // One alert and one event row for each of 40 patients: 80 rows in a handful of pages, written once.
    expect(framesSince.read()).toBeLessThan(20);
    for (const p of patients) expect(c.live(p.patientId, 'bp.crisis')).toMatchObject({ status: 'open', severity: 'critical' });
    expect(c.events.filter((e) => e.type === 'alert.opened')).toHaveLength(40);
  });

  it('writes one sweep in one transaction: every live missing-data alert is updated, the feed stays quiet', async () => {
    const patients = await Promise.all(Array.from({ length: 40 }, () => c.patient(['hypertension'])));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    c.advance(49 * HOUR);
    await c.sweep();
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toBeDefined();
    const opened = c.events.length;
    c.advance(HOUR);
    framesSince.reset();
    await c.sweep();
    expect(framesSince.read()).toBeLessThan(20);
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')!.count).toBe(2);
    expect(c.events.slice(opened).filter((e) => e.type !== 'alert.updated')).toEqual([]);
  });

  it('writes nothing in a sweep that finds every gap as it was, and brings each alert up to date once it changes', async () => {
    const patients = await Promise.all(Array.from({ length: 40 }, () => c.patient(['hypertension'])));
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, normal)));
    c.advance(49.5 * HOUR);
    await c.sweep();
    // The next sweep, 30 s later: every gap still reads 49.5 h, nothing is due (no escalation of a warning, no reminder).
    c.advance(30_000);
    framesSince.reset();
    await c.sweep();
    expect(framesSince.read()).toBe(0);
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toMatchObject({ count: 1, latestValues: { gapHours: 49.5 } });
    c.advance(6 * 60_000);
    await c.sweep();
    for (const p of patients) expect(c.live(p.patientId, 'missing.blood_pressure')).toMatchObject({ count: 2, latestValues: { gapHours: 49.6 } });
  });

  it("tries each transition alone when the batch's commit fails, and the live alerts stay known", async () => {
    const patients = await Promise.all(Array.from({ length: 3 }, () => c.patient()));
    const table = c.alerts.table;
    const commitBatch = table.commitBatch.bind(table);
    let failures = 0;
    table.commitBatch = () => {
      if (failures++ === 0) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
      commitBatch();
    };
    c.alerts.evaluation.onCommitted(patients.map((p) => c.reading(p, crisis)));
    expect(failures).toBe(1);
    expect(c.state.db.inTransaction).toBe(false);
    for (const p of patients) expect(c.all(p.patientId, 'bp.crisis')).toHaveLength(1);
    expect(c.events.filter((e) => e.type === 'alert.opened')).toHaveLength(3);
    // The crisis is live in memory too: the next normal reading starts it clearing instead of being skipped.
    const [first] = patients;
    await c.alerts.actions.acknowledge(c.live(first!.patientId, 'bp.crisis')!.id, nurse);
    await c.send(first!, normal);
    expect(c.live(first!.patientId, 'bp.crisis')!.clearSince).not.toBeNull();
  });

  it('applies each reading once when SQLite rolls the whole batch back midway (a full disk), and opens every alert', async () => {
    const patients = await Promise.all(Array.from({ length: 120 }, () => c.patient()));
    const db = c.state.db;
    const readings = patients.map((p) => c.reading(p, crisis));
    // A real SQLITE_FULL during the batch: on it SQLite ends the whole transaction, not just the savepoint. The
    // disk has room again a moment later (a log rotated), as soon as the first statement has failed.
    db.pragma(`max_page_count = ${(db.pragma('page_count', { simple: true }) as number) + 10}`);
    const table = c.alerts.table;
    const transaction = table.transaction.bind(table);
    const ended: boolean[] = [];
    table.transaction = <T>(work: () => T): T => {
      try {
        return transaction(work);
      } catch (err) {
        ended.push(!db.inTransaction);
        db.pragma('max_page_count = 1073741823');
        throw err;
      }
    };
    c.alerts.evaluation.onCommitted(readings);
    expect(ended[0]).toBe(true);
    expect(db.inTransaction).toBe(false);
    // One crisis reading per patient: one alert each, counted once, no repeat recorded.
    for (const p of patients) expect(c.all(p.patientId, 'bp.crisis').map((a) => a.count)).toEqual([1]);
    expect(c.alerts.table.eventsAfter(0, 10_000).filter((e) => e.type === 'alert.updated')).toEqual([]);
  });

  for (const commitFails of [false, true]) {
    it(`keeps a rejected publish the sweep counts (the batch's commit ${commitFails ? 'fails' : 'succeeds'})`, async () => {
      const p = await c.patient(['hypertension']);
      await c.send(p, normal);
      c.advance(49 * HOUR);
      await c.sweep();
      expect(c.live(p.patientId, 'missing.blood_pressure')).toBeDefined();
      c.advance(HOUR);
      // A publish refused a moment ago (acknowledged to the device, kept for a replay) waits in the rejection
      // log's buffer; the sweep's device rule counts rejections, which writes the buffer out.
      c.rejections.record({
        deviceId: p.deviceId,
        patientId: p.patientId,
        receivedAt: c.clock,
        rejections: [{ ref: '0', code: 'VIGIL_ERR_OUT_OF_RANGE', message: 'systolic out of range', readingType: 'blood_pressure', item: { type: 'blood_pressure', systolic: 999 } }],
        payload: Buffer.from('[{"type":"blood_pressure","systolic":999}]'),
        allRejected: true,
      });
      const table = c.alerts.table;
      const commitBatch = table.commitBatch.bind(table);
      let failures = 0;
      table.commitBatch = () => {
        if (commitFails && failures++ === 0) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
        commitBatch();
      };
      await c.sweep();
      expect(failures).toBe(commitFails ? 1 : 0);
      expect(c.live(p.patientId, 'missing.blood_pressure')!.count).toBe(2);
      expect(c.rejections.recent()).toHaveLength(1);
    });
  }
});
