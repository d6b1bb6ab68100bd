import { afterEach, describe, expect, it, vi } from 'vitest';
import { VigilError } from '../../domain/index.js';
import type { PostgresState } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { tempDir, waitFor } from '../../test/support/temp.js';
import { alertedPatients, crisis, kept, nextStart, sharedAlertsInstance, sharedRows, within, type FixtureLog, type SharedAlertsInstance } from '../../test/support/shared-alerts-fixture.js';
import type { WireReadingInput } from '../../domain/index.js';
import { WaitingFindings } from '../store/waiting-findings.js';
import { LiveKeys } from '../live-keys.js';
import { AlertTable } from '../store/alert-table.js';

/**
 * Review of evaluation's queue of shared transitions (alerts/evaluation.ts, #drain): a finding is never lost to a
 * fault of the data dir, to a fault that is no outage, to the bound on what waits in memory, nor written twice
 * (a second notification) because the data dir failed to forget it.
 */
const MIN = 60_000;
const postgres = postgresForFile('shared_queue_review');
type Locked = PostgresState['locked'];
const normal = { type: 'blood_pressure', systolic: 120, diastolic: 80, unit: 'mmHg' } as WireReadingInput;


/** Transitions meet an outage while `down.now` is set. */
function outageWhile(down: { now: boolean }) {
  return (locked: Locked): Locked =>
    (key, work) =>
      down.now ? Promise.reject(new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds')) : locked(key, work);
}

/**
 * PostgreSQL refuses, for as long as it is there, every write of an alert of `patientId` (a trigger that raises, as a
 * constraint or a bug would): a batch with that patient's finding is refused whole, written again one by one, and
 * that finding alone fails.
 */
async function refuseAlertsOf(url: string, patientId: string): Promise<{ drop(): Promise<void> }> {
  await sharedRows(url, "CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$");
  await sharedRows(url, `CREATE TRIGGER test_refuse BEFORE INSERT OR UPDATE ON alerts FOR EACH ROW WHEN (NEW.patient_id = '${patientId}') EXECUTE FUNCTION test_refuse()`);
  return { drop: async () => void (await sharedRows(url, 'DROP TRIGGER test_refuse ON alerts')) };
}

/** SQLite's answer when another connection kept the write lock past the busy timeout. */
const busy = () => Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });

/**
 * Transactions that would write alerts fail inside PostgreSQL's transaction as the replica's SQLite does when busy
 * (thrown under the lock, no outage), while `faults.left` is above 0 (each counts one down; Infinity: until reset).
 */
function busyReplica(faults: { left: number; met: number }) {
  return (locked: Locked): Locked =>
    (key, work) =>
      locked(key, async (query) => {
        if (faults.left > 0) {
          faults.left--;
          faults.met++;
          throw busy();
        }
        return work(query);
      });
}



function patientsOf(a: SharedAlertsInstance, ...i: number[]): string[] {
  return i.map((n) => a.devices[n]!.patientId).sort();
}

/**
 * Three patients' crisis findings in one batch, while `fault` makes patient 1's fail on its own (no outage): the
 * others are written; patient 1's is kept in the data dir, counted and said so (not cleared: lost), logged with
 * `code`. Once the fault ends (what `fault` answers), the kept finding is queued again (givenUpRetryMs) and its
 * alert opens, once.
 */
async function keptWhileItFailsAlone(code: string | undefined, fault: (url: string, patientId: string) => Promise<() => Promise<void>>): Promise<void> {
  const clock = { now: Date.now() };
  const url = await postgres.database();
  const { log, lines } = kept();
  const a = await sharedAlertsInstance({ url, clock, patients: 3, log, givenUpRetryMs: 2_000 });
  try {
    const broken = a.devices[1]!.patientId;
    const end = await fault(url, broken);
    a.alerts.evaluation.onCommitted([0, 1, 2].map((i) => a.reading(i, crisis, clock.now - MIN)));
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    expect(await alertedPatients(url)).toEqual(patientsOf(a, 0, 2));
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
    expect(a.alerts.evaluation.findingsGivenUp()).toBe(1);
    expect(a.alerts.evaluation.waiting()).toBe(0);
    expect(lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', msg: expect.stringContaining('kept in the data dir'), code }]);
    await end();
    await waitFor(async () => (await alertedPatients(url)).length === 3, { what: 'the kept finding written', timeoutMs: 15_000 });
    expect(await alertedPatients(url)).toEqual(patientsOf(a, 0, 1, 2));
    await waitFor(() => a.alerts.evaluation.findingsWaiting() === 0, { what: 'the finding cleared' });
    const opened = await sharedRows<{ count: number; status: string; severity: string }>(url, 'SELECT count, status, severity FROM alerts WHERE patient_id = $1', [broken]);
    expect(opened).toEqual([{ count: 1, status: 'open', severity: 'critical' }]);
  } finally {
    await a.close();
  }
}

describe('the shared alerts queue, reviewed', () => {
  const open: SharedAlertsInstance[] = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const i of open.splice(0)) await i.close();
  });

  it('goes on when the waiting findings cannot be read as the queue drains past its bound, and queues them again later', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const { log, lines, errors } = kept();
    const down = { now: true };
    const a = await sharedAlertsInstance({ url, clock, patients: 6, log, locked: outageWhile(down), maxWaiting: 2 });
    open.push(a);
    // Two wait in memory, three on disk only (past the bound).
    a.alerts.evaluation.onCommitted([0, 1, 2, 3, 4].map((i) => a.reading(i, crisis, clock.now - MIN)));
    await waitFor(() => a.alerts.evaluation.findingsWaiting() === 5, { what: 'the findings kept' });
    // The first read of the waiting findings, once the two in memory are written, fails (the data dir's disk).
    vi.spyOn(WaitingFindings.prototype, 'list').mockImplementationOnce(() => {
      throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    });
    down.now = false;
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    // Queued again later: none of the five is lost.
    await waitFor(async () => (await alertedPatients(url)).length === 5, { what: 'the findings on disk written' });
    expect(await alertedPatients(url)).toEqual(patientsOf(a, 0, 1, 2, 3, 4));
    expect(lines.filter((l) => l.level === 'error' && l.code === 'SQLITE_IOERR')).toHaveLength(1);
    expect(errors()).toEqual([expect.stringContaining('could not be queued')]);
    await waitFor(() => a.alerts.evaluation.findingsWaiting() === 0, { what: 'the findings cleared' });
    // The queue did not stop: a later finding is written.
    a.alerts.evaluation.onCommitted([a.reading(5, crisis, clock.now - MIN)]);
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    expect(await alertedPatients(url)).toEqual(patientsOf(a, 0, 1, 2, 3, 4, 5));
  }, 60_000);

  it('tries a batch again when it fails whole with a transient fault (the replica busy), rather than dropping its first finding', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const { log, errors } = kept();
    const faults = { left: 2, met: 0 };
    const a = await sharedAlertsInstance({ url, clock, patients: 3, log, locked: busyReplica(faults) });
    open.push(a);
    a.alerts.evaluation.onCommitted([0, 1, 2].map((i) => a.reading(i, crisis, clock.now - MIN)));
    expect(await within(a.alerts.evaluation.settled(), 15_000)).toBe(true);
    expect(faults.met).toBe(2);
    expect(await alertedPatients(url)).toEqual(patientsOf(a, 0, 1, 2));
    expect(errors()).toEqual([]);
    expect(a.alerts.evaluation.waiting()).toBe(0);
  }, 60_000);

  it('keeps in the data dir a finding whose batch kept failing (no outage), says so, and the next start writes it', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const dir = await tempDir();
    try {
      const { log, lines } = kept();
      const faults = { left: Number.POSITIVE_INFINITY, met: 0 };
      const a = await sharedAlertsInstance({ url, clock, patients: 1, log, locked: busyReplica(faults), dir: dir.path });
      a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN)]);
      expect(await within(a.alerts.evaluation.settled(), 20_000)).toBe(true);
      expect(await alertedPatients(url)).toEqual([]);
      expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
      expect(a.alerts.evaluation.findingsGivenUp()).toBe(1);
      expect(lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', msg: expect.stringContaining('kept in the data dir'), code: 'SQLITE_BUSY' }]);
      faults.left = 0;
      const b = await nextStart(a, { url, clock, log, dir: dir.path });
      open.push(b);
      await b.alerts.evaluation.settled();
      expect(await alertedPatients(url)).toEqual(patientsOf(a, 0));
      expect(b.alerts.evaluation.findingsWaiting()).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it('keeps in the data dir, and writes later, a finding whose own write PostgreSQL refused (the rest of its batch written)', async () => {
    await keptWhileItFailsAlone('P0001', (url, patientId) => refuseAlertsOf(url, patientId).then((refusal) => refusal.drop));
  }, 60_000);

  it('keeps in the data dir, and writes later, a finding whose decision threw (a bug), the rest of its batch written', async () => {
    // Deciding the patient's finding reads its live alert from the replica, and that read throws while the bug lasts.
    await keptWhileItFailsAlone(undefined, async (_url, broken) => {
      const bug = { on: true };
      const live = AlertTable.prototype.live;
      vi.spyOn(AlertTable.prototype, 'live').mockImplementation(function (this: AlertTable, patientId, ruleId, subject) {
        if (bug.on && patientId === broken) throw new Error('a bug in the decision');
        return live.call(this, patientId, ruleId, subject);
      });
      // Gone with a fixed release.
      return async () => void (bug.on = false);
    });
  }, 60_000);

  it('writes at the next start a finding whose own write PostgreSQL refused before this instance stopped', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const dir = await tempDir();
    try {
      const { log } = kept();
      const a = await sharedAlertsInstance({ url, clock, patients: 2, log, dir: dir.path });
      const refusal = await refuseAlertsOf(url, a.devices[0]!.patientId);
      // Alone in its batch: written one by one at once, and refused.
      a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN)]);
      expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
      expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
      expect(a.alerts.evaluation.findingsGivenUp()).toBe(1);
      // The queue goes on behind it.
      a.alerts.evaluation.onCommitted([a.reading(1, crisis, clock.now - MIN)]);
      expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
      expect(await alertedPatients(url)).toEqual(patientsOf(a, 1));
      await refusal.drop();
      const patient = a.devices[0]!.patientId;
      const b = await nextStart(a, { url, clock, log, dir: dir.path });
      open.push(b);
      expect(await within(b.alerts.evaluation.settled(), 10_000)).toBe(true);
      expect(await alertedPatients(url)).toEqual([patient, a.devices[1]!.patientId].sort());
      expect(b.alerts.evaluation.findingsWaiting()).toBe(0);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it('does not write again a finding that was written though what follows its commit threw (no second count, no next-start repeat)', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const dir = await tempDir();
    try {
      const { log, lines } = kept();
      // PostgreSQL answers: the finding is not kept in the data dir, so no transaction is noted with it either (a
      // kept one is, and a retry would ask txid_status first): kept and tried again, it would simply be written twice.
      const a = await sharedAlertsInstance({ url, clock, patients: 1, log, dir: dir.path, givenUpRetryMs: 200 });
      a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN)]);
      // The transition's `committed` hook throws (a bug after the commit): injected where evaluation's hook notes the
      // live alert, and only there (the replica's catch-up notes it through the same method).
      const add = LiveKeys.prototype.add;
      vi.spyOn(LiveKeys.prototype, 'add').mockImplementation(function (this: LiveKeys, ...args: Parameters<LiveKeys['add']>) {
        if (/at (Object\.)?committed /.test(new Error().stack ?? '')) throw new Error('a bug after the commit, for the test');
        add.apply(this, args);
      });
      expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
      const cleared = a.alerts.evaluation.findingsWaiting();
      const givenUp = a.alerts.evaluation.findingsGivenUp();
      vi.restoreAllMocks();
      // Past the retry of a finding given up, and at the next start: it is not written a second time.
      await new Promise((resolve) => setTimeout(resolve, 600));
      await a.alerts.evaluation.settled();
      const b = await nextStart(a, { url, clock, log, dir: dir.path });
      open.push(b);
      await b.alerts.evaluation.settled();
      const alerts = await sharedRows<{ count: number; events: number }>(url, 'SELECT a.count, (SELECT count(*)::int FROM alert_events e WHERE e.alert_id = a.id) AS events FROM alerts a');
      expect(alerts).toEqual([{ count: 1, events: 1 }]);
      // Done, as a written one: cleared from the data dir, not counted as given up, and said so.
      expect({ cleared, givenUp }).toEqual({ cleared: 0, givenUp: 0 });
      expect(lines.filter((l) => l.level === 'error')).toEqual([{ level: 'error', msg: expect.stringContaining('not written again'), code: undefined }]);
    } finally {
      await dir.remove();
    }
  }, 60_000);

  it('queues a finding past the bound in memory when the data dir cannot keep it, rather than dropping it', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const { log, errors } = kept();
    const down = { now: true };
    const a = await sharedAlertsInstance({ url, clock, patients: 2, log, locked: outageWhile(down), maxWaiting: 1 });
    open.push(a);
    // The data dir refuses to keep any finding (a full disk).
    a.db.exec("CREATE TRIGGER test_refuse BEFORE INSERT ON alert_findings_waiting BEGIN SELECT RAISE(ABORT, 'refused for the test'); END");
    a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN)]);
    await waitFor(() => errors().some((m) => m.includes('could not be kept')), { what: 'the outage met' });
    // Past the bound, and the data dir cannot keep it either.
    a.alerts.evaluation.onCommitted([a.reading(1, crisis, clock.now - MIN)]);
    expect(errors().filter((m) => m.includes('dropped'))).toEqual([]);
    down.now = false;
    expect(await within(a.alerts.evaluation.settled(), 10_000)).toBe(true);
    expect(await alertedPatients(url)).toEqual(patientsOf(a, 0, 1));
  }, 60_000);

  it('escalates at the next sweep a critical alert whose escalation was dropped past the bound during an outage', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const { log, errors } = kept();
    const down = { now: false };
    const a = await sharedAlertsInstance({ url, clock, patients: 2, log, locked: outageWhile(down), maxWaiting: 1 });
    open.push(a);
    a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN)]);
    await a.alerts.evaluation.settled();
    await waitFor(() => a.alerts.queries.list({ status: 'live' }).length === 1, { what: 'the alert in the replica' });
    // Nobody acknowledges it: its escalation is due. PostgreSQL's alerts go away, and another finding fills the queue.
    clock.now += 16 * MIN;
    down.now = true;
    a.alerts.evaluation.onCommitted([a.reading(1, crisis, clock.now - MIN)]);
    const swept = a.alerts.evaluation.sweep();
    await waitFor(() => errors().some((m) => m.includes('wait for the shared database')), { what: 'the escalation past the bound' });
    down.now = false;
    await within(swept, 15_000);
    const escalation = async () => (await sharedRows<{ level: number }>(url, 'SELECT escalation_level AS level FROM alerts WHERE patient_id = $1', [a.devices[0]!.patientId]))[0]!.level;
    expect(await escalation()).toBe(0);
    // The next sweep decides it again on the alert as it is: still due, and written.
    await a.alerts.evaluation.sweep();
    expect(await escalation()).toBe(1);
  }, 60_000);

  it('does not notify again at the next start for a finding written while the data dir failed to forget it', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const dir = await tempDir();
    try {
      const { log } = kept();
      const down = { now: true };
      const a = await sharedAlertsInstance({ url, clock, patients: 1, log, locked: outageWhile(down), dir: dir.path });
      const t0 = clock.now - 3 * 60 * MIN;
      a.alerts.evaluation.onCommitted([a.reading(0, crisis, t0)]);
      await waitFor(() => a.alerts.evaluation.findingsWaiting() === 1, { what: 'the finding kept' });
      // Written once PostgreSQL answers; the data dir then refuses to forget it.
      a.db.exec('CREATE TRIGGER test_refuse BEFORE DELETE ON alert_findings_waiting BEGIN SELECT RAISE(ABORT, \'refused for the test\'); END');
      down.now = false;
      await a.alerts.evaluation.settled();
      expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
      a.db.exec('DROP TRIGGER test_refuse');
      // Back in range for the hold time: the critical alert latches, waiting for a person.
      a.alerts.evaluation.onCommitted([a.reading(0, normal, t0 + MIN)]);
      a.alerts.evaluation.onCommitted([a.reading(0, normal, t0 + 62 * MIN)]);
      await a.alerts.evaluation.settled();
      const b = await nextStart(a, { url, clock, log, dir: dir.path });
      open.push(b);
      await b.alerts.evaluation.settled();
      expect(b.alerts.evaluation.findingsWaiting()).toBe(0);
      const alerts = await sharedRows<{ count: number; renotified: number; back: string | null }>(
        url,
        "SELECT a.count, a.back_in_range_at AS back, (SELECT count(*)::int FROM alert_events e WHERE e.alert_id = a.id AND e.type = 'alert.renotified') AS renotified FROM alerts a",
      );
      expect(alerts).toEqual([{ count: 1, renotified: 0, back: expect.any(String) }]);
    } finally {
      await dir.remove();
    }
  }, 60_000);
});
