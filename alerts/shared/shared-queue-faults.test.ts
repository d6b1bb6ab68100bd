import { afterEach, describe, expect, it } from 'vitest';
import { VigilError } from '../../domain/index.js';
import type { PostgresState } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { alertedPatients, crisis, kept, sharedAlertsInstance, sharedRows, within, type FixtureLog, type SharedAlertsInstance } from '../../test/support/shared-alerts-fixture.js';
import { waitFor } from '../../test/support/temp.js';

/**
 * Faults in evaluation's queue of shared transitions that are not PostgreSQL's outages: each is reported, no finding
 * is lost to it, and the queue goes on draining (alerts/evaluation.ts, #drain; state/postgres.ts, codedTransaction).
 */
const MIN = 60_000;
const postgres = postgresForFile('shared_queue_faults');
type Locked = PostgresState['locked'];




describe('faults in the shared alerts queue', () => {
  const open: SharedAlertsInstance[] = [];
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
  });

  it('reports a fault of the local replica under the write lock as a fault, not an outage, and goes on with the queue', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const { log, lines } = kept();
    const a = await sharedAlertsInstance({ url, clock, patients: 3, log });
    open.push(a);
    // The replica's SQLite refuses the events it applies (as a full or failing disk would).
    a.db.exec("CREATE TRIGGER test_refuse BEFORE INSERT ON alert_events BEGIN SELECT RAISE(ABORT, 'refused for the test'); END");
    // Written in PostgreSQL; the replica cannot apply it, and tries again on its own.
    a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN)]);
    await a.alerts.evaluation.settled();
    // The next transition's catch-up under the lock meets the same fault, each time its batch is tried again: it is
    // given up, kept in the data dir (not dropped), and the queue goes on.
    a.alerts.evaluation.onCommitted([a.reading(1, crisis, clock.now - MIN)]);
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    expect(lines.filter((l) => l.msg.includes('does not answer'))).toEqual([]);
    expect(lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', msg: expect.stringContaining('kept in the data dir'), code: 'SQLITE_CONSTRAINT_TRIGGER' }]);
    expect(a.alerts.evaluation.waiting()).toBe(0);
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
    // The fault gone, the queue and the replica carry on.
    a.db.exec('DROP TRIGGER test_refuse');
    a.alerts.evaluation.onCommitted([a.reading(2, crisis, clock.now - MIN)]);
    await a.alerts.evaluation.settled();
    expect(await alertedPatients(url)).toEqual([a.devices[0]!.patientId, a.devices[2]!.patientId].sort());
    await waitFor(() => a.alerts.queries.list({ status: 'live' }).length === 2);
    // Patient 1's finding waits in the data dir for its next pass (GIVEN_UP_RETRY_MS) or the next start.
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
  }, 60_000);

  it('goes on when clearing one written finding from the data dir fails: the rest of the batch and later drains carry on', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const { log, lines } = kept();
    const down = { now: true };
    // PostgreSQL away at first, so that the findings are kept in the data dir (and cleared once written).
    const outage = (locked: Locked): Locked => (key, work) =>
      down.now ? Promise.reject(new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds')) : locked(key, work);
    const a = await sharedAlertsInstance({ url, clock, patients: 4, log, locked: outage });
    open.push(a);
    a.alerts.evaluation.onCommitted([0, 1, 2].map((i) => a.reading(i, crisis, clock.now - MIN)));
    await waitFor(() => a.alerts.evaluation.findingsWaiting() === 3, { what: 'the findings kept' });
    // Patient 1's finding cannot be cleared once written (the data dir's SQLite refuses it).
    a.db.exec(`CREATE TRIGGER test_refuse BEFORE DELETE ON alert_findings_waiting WHEN OLD.patient_id = '${a.devices[1]!.patientId}' BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`);
    down.now = false;
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    expect(lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', msg: expect.stringContaining('could not be cleared'), code: 'SQLITE_CONSTRAINT_TRIGGER' }]);
    // Only the refused one is still kept; the batch was written and the queue is empty.
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
    expect(a.alerts.evaluation.waiting()).toBe(0);
    // A later finding is written: the queue did not stop.
    a.alerts.evaluation.onCommitted([a.reading(3, crisis, clock.now - MIN)]);
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    expect(await alertedPatients(url)).toEqual(a.devices.map((d) => d.patientId).sort());
  }, 60_000);
});
