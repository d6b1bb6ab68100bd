import { afterEach, describe, expect, it } from 'vitest';
import { VigilError } from '../../domain/index.js';
import type { PostgresState } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { tempDir, waitFor } from '../../test/support/temp.js';
import { crisis, nextStart, sharedAlertsInstance, sharedRows, type FixtureLog, type SharedAlertsInstance } from '../../test/support/shared-alerts-fixture.js';

/**
 * Review of the batched shared transitions (d5126d5, 08c5677): a batch whose COMMIT reached PostgreSQL but whose
 * answer was lost (the connection dropped during COMMIT) must not be written a second time.
 */
const MIN = 60_000;
const postgres = postgresForFile('shared_together_review');
const quiet: FixtureLog = { warn: () => undefined, info: () => undefined, error: () => undefined };
type Locked = PostgresState['locked'];

/** What the caller hears when the connection drops under a COMMIT. */
const dropped = () => new VigilError('VIGIL_ERR_STATE_UNAVAILABLE', 'the state database does not answer; try again in a few seconds', { cause: new Error('Connection terminated unexpectedly') });

/**
 * A `locked` wrapper whose first transactions that write (`count` of them, after `skip` that go through) fail as a
 * connection dropped at their COMMIT: `committed`, after PostgreSQL committed (the answer was lost), or else before
 * (rolled back). `lost` says how many did; `onLost` hears each, before its caller does.
 */
function losingCommits(committed: boolean, { skip = 0, count = 1, onLost = (_n: number) => undefined as void } = {}) {
  const state = { writing: 0, lost: 0 };
  type Query = Parameters<Parameters<Locked>[1]>[0];
  const noting = (query: Query, wrote: { yes: boolean }): Query => (sql, params) => ((wrote.yes ||= !sql.startsWith('SELECT')), query(sql, params));
  const wrap = (locked: Locked): Locked => async (key, work) => {
    const wrote = { yes: false };
    const lose = () => {
      if (!wrote.yes) return false;
      state.writing++;
      if (state.writing <= skip || state.lost >= count) return false;
      onLost(++state.lost);
      return true;
    };
    if (committed) {
      const result = await locked(key, (query) => work(noting(query, wrote)));
      if (lose()) throw dropped();
      return result;
    }
    return locked(key, async (query) => {
      const result = await work(noting(query, wrote));
      if (lose()) throw dropped();
      return result;
    });
  };
  return { wrap, lost: () => state.lost };
}

/** Patient 0's alert acknowledged by a nurse: the error it fails with, if it does. */
function acknowledgeFirst(a: SharedAlertsInstance): Promise<unknown> {
  const [alert] = a.alerts.queries.list({ patientId: a.devices[0]!.patientId });
  return a.alerts.actions.acknowledge(alert!.id, 'user:nurse').then(
    () => undefined,
    (err: unknown) => err,
  );
}

/** Each alert in the shared database with its count and number of events, by patient. */
async function countsOf(url: string) {
  return sharedRows<{ patient_id: string; count: number; events: number }>(
    url,
    'SELECT a.patient_id, a.count, (SELECT count(*)::int FROM alert_events e WHERE e.alert_id = a.id) AS events FROM alerts a ORDER BY a.id',
  );
}

/** Each of `patients` crisis readings is one finding: one alert, counted once, one event. */
async function expectEachOnce(url: string, patients: number): Promise<void> {
  const found = await countsOf(url);
  expect(found).toHaveLength(patients);
  for (const r of found) expect({ count: r.count, events: r.events }, r.patient_id).toEqual({ count: 1, events: 1 });
}

describe('batched shared transitions, reviewed', () => {
  const open: SharedAlertsInstance[] = [];
  afterEach(async () => {
    for (const i of open.splice(0)) await i.close();
  });

  async function crises(url: string, clock: { now: number }, locked: (l: Locked) => Locked): Promise<SharedAlertsInstance> {
    const a = await sharedAlertsInstance({ url, clock, patients: 20, log: quiet, locked });
    open.push(a);
    a.alerts.evaluation.onCommitted(Array.from({ length: 20 }, (_, i) => a.reading(i, crisis, clock.now - MIN)));
    return a;
  }

  it('writes a batch once when the connection drops during its COMMIT (the COMMIT took effect, its answer was lost)', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const commit = losingCommits(true);
    const a = await crises(url, clock, commit.wrap);
    await a.alerts.evaluation.settled();
    expect(commit.lost()).toBe(1);
    await expectEachOnce(url, 20);
  }, 60_000);

  it('writes a batch once when its COMMIT failed with the connection (rolled back): nothing is taken as written that was not', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const commit = losingCommits(false);
    const a = await crises(url, clock, commit.wrap);
    await a.alerts.evaluation.settled();
    expect(commit.lost()).toBe(1);
    await expectEachOnce(url, 20);
    expect(a.alerts.evaluation.waiting()).toBe(0);
  }, 60_000);

  /**
   * 20 crises whose batch's COMMIT loses its answer (`committed` or not), PostgreSQL then away until the instance
   * stops with the findings kept in its data dir; the next start on that data dir writes what waits. Answers the
   * kept findings noted with the transaction that may have written them.
   */
  async function stoppedAfterLostCommit(url: string, committed: boolean, meanwhile = (_db: SharedAlertsInstance['db']) => undefined as void): Promise<{ noted: number }> {
    const clock = { now: Date.now() };
    const dir = await tempDir();
    try {
      const commit = losingCommits(committed);
      const away = (locked: Locked): Locked => {
        const losing = commit.wrap(locked);
        return (key, work) => (commit.lost() > 0 ? Promise.reject(dropped()) : losing(key, work));
      };
      const a = await sharedAlertsInstance({ url, clock, patients: 20, log: quiet, locked: away, dir: dir.path });
      a.alerts.evaluation.onCommitted(Array.from({ length: 20 }, (_, i) => a.reading(i, crisis, clock.now - MIN)));
      await waitFor(() => commit.lost() === 1 && a.alerts.evaluation.findingsWaiting() === 20, { what: 'the batch kept in the data dir' });
      const noted = a.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM alert_findings_waiting WHERE txid IS NOT NULL').get()!.n;
      meanwhile(a.db);
      const b = await nextStart(a, { url, clock, log: quiet, dir: dir.path });
      open.push(b);
      await b.alerts.evaluation.settled();
      expect(b.alerts.evaluation.findingsWaiting()).toBe(0);
      return { noted };
    } finally {
      await dir.remove();
    }
  }

  it('does not write again at the next start what a COMMIT whose answer was lost wrote, when the instance stopped during the outage after it', async () => {
    const url = await postgres.database();
    expect(await stoppedAfterLostCommit(url, true)).toEqual({ noted: 20 });
    await expectEachOnce(url, 20);
  }, 60_000);

  it('writes at the next start what a COMMIT that failed with the connection did not write, when the instance stopped during the outage after it', async () => {
    const url = await postgres.database();
    expect(await stoppedAfterLostCommit(url, false)).toEqual({ noted: 20 });
    await expectEachOnce(url, 20);
  }, 60_000);

  it('writes at the next start a finding noted with a transaction PostgreSQL never handed out (a database restored meanwhile)', async () => {
    const url = await postgres.database();
    const restored = (db: SharedAlertsInstance['db']) => void db.prepare("UPDATE alert_findings_waiting SET txid = '999999999999'").run();
    expect(await stoppedAfterLostCommit(url, false, restored)).toEqual({ noted: 20 });
    await expectEachOnce(url, 20);
  }, 60_000);

  it('keeps a lost COMMIT known when a person\'s action in between loses its COMMIT\'s answer too', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const acted: Promise<unknown>[] = [];
    let a: SharedAlertsInstance | undefined;
    // The batch's answer is lost, and a nurse acknowledges patient 0's alert before the queue tries again; the
    // answer of that action's COMMIT is lost as well.
    const commit = losingCommits(true, { skip: 1, count: 2, onLost: (n) => void (n === 1 && acted.push(acknowledgeFirst(a!))) });
    a = await sharedAlertsInstance({ url, clock, patients: 20, log: quiet, locked: commit.wrap });
    open.push(a);
    a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - 2 * MIN)]);
    await a.alerts.evaluation.settled();
    a.alerts.evaluation.onCommitted(Array.from({ length: 19 }, (_, i) => a!.reading(i + 1, crisis, clock.now - MIN)));
    await a.alerts.evaluation.settled();
    expect(commit.lost()).toBe(2);
    // The nurse heard the outage; the acknowledgement was written all the same.
    expect(await acted[0]).toMatchObject({ code: 'VIGIL_ERR_STATE_UNAVAILABLE' });
    const found = await countsOf(url);
    expect(found).toHaveLength(20);
    const [first, ...others] = found;
    expect({ count: first!.count, events: first!.events }).toEqual({ count: 1, events: 2 });
    for (const r of others) expect({ count: r.count, events: r.events }, r.patient_id).toEqual({ count: 1, events: 1 });
  }, 60_000);
  it('writes later a finding whose alert changed under the lock in a batch whose COMMIT lost its answer, not taking it as written by that batch', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    // The second transaction that writes (patient 0's second finding and patient 1's first, together) commits, and
    // its answer is lost.
    const commit = losingCommits(true, { skip: 1 });
    const a = await sharedAlertsInstance({ url, clock, patients: 2, log: quiet, locked: commit.wrap, givenUpRetryMs: 1_000 });
    open.push(a);
    const patient = a.devices[0]!.patientId;
    a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - 2 * MIN)]);
    await a.alerts.evaluation.settled();
    // Patient 0's alert changed in PostgreSQL without an event this instance's replica sees: its next finding is
    // refused by the version check (changed under the lock), alone; patient 1's is written with the batch.
    await sharedRows(url, 'UPDATE alerts SET version = version + 5 WHERE patient_id = $1', [patient]);
    a.alerts.evaluation.onCommitted([a.reading(0, crisis, clock.now - MIN), a.reading(1, crisis, clock.now - MIN)]);
    await a.alerts.evaluation.settled();
    expect(commit.lost()).toBe(1);
    expect(a.alerts.evaluation.findingsWaiting()).toBe(1);
    // The replica in step again: the finding kept is written when it is queued again, its reading counted.
    await sharedRows(url, 'UPDATE alerts SET version = version - 5 WHERE patient_id = $1', [patient]);
    await waitFor(() => a.alerts.evaluation.findingsWaiting() === 0, { what: 'the kept finding cleared', timeoutMs: 15_000 });
    await a.alerts.evaluation.settled();
    const found = await countsOf(url);
    expect(found.map((r) => ({ patient: r.patient_id, count: r.count, events: r.events }))).toEqual([
      { patient, count: 2, events: 2 },
      { patient: a.devices[1]!.patientId, count: 1, events: 1 },
    ]);
  }, 60_000);
});
