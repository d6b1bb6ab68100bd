import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic } from '../test/support/clinic.js';

/**
 * A sweep writes what changed in batches of at most 64 writes (SWEEP_SLICE_WRITES), each batch one hold of the
 * state database's write lock on the broker's thread. The live alerts' timers are read a page of 200 at a time:
 * a page whose every alert was due an escalation put all of them in one batch.
 */
describe("the sweep's batches (embedded)", () => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open();
  });
  afterEach(() => c.close());

  /** The writes (alert updates) of each batch the sweeps open while `run` runs. */
  async function batchSizesDuring(run: () => Promise<void>): Promise<number[]> {
    const table = c.alerts.table;
    const [begin, update] = [table.beginBatch.bind(table), table.update.bind(table)];
    const sizes: number[] = [];
    let open = false;
    table.beginBatch = () => {
      open = true;
      sizes.push(0);
      begin();
    };
    table.update = (...args) => {
      if (open) sizes[sizes.length - 1]!++;
      return update(...args);
    };
    try {
      await run();
    } finally {
      Object.assign(table, { beginBatch: begin, update });
    }
    return sizes;
  }

  it('escalates a full page of critical alerts in batches of at most 64 writes', async () => {
    const patients = await Promise.all(Array.from({ length: 150 }, () => c.patient(['hypertension'])));
    for (const p of patients) await c.send(p, { type: 'blood_pressure', systolic: 200, diastolic: 120 });
    for (const p of patients) expect(c.live(p.patientId, 'bp.crisis')).toMatchObject({ status: 'open', escalationLevel: 0 });
    c.advance(16 * 60_000);
    const sizes = await batchSizesDuring(() => c.sweep());
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(150);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(64);
    for (const p of patients) expect(c.live(p.patientId, 'bp.crisis')).toMatchObject({ escalationLevel: 1 });
  });
});
