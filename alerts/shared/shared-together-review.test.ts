import { afterEach, describe, expect, it } from 'vitest';
import { VigilError } from '../../domain/index.js';
import type { PostgresState } from '../../state/index.js';
import { postgresForFile } from '../../test/support/postgres.js';
import { crisis, sharedAlertsInstance, sharedRows, type FixtureLog, type SharedAlertsInstance } from '../../test/support/shared-alerts-fixture.js';

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
 * A `locked` wrapper whose first transaction that writes fails as a connection dropped at its COMMIT: `committed`,
 * after PostgreSQL committed it (the answer was lost), or else before (it was rolled back). `lost` says whether it
 * happened yet.
 */
function losingFirstCommit(committed: boolean) {
  const state = { lost: false };
  type Query = Parameters<Parameters<Locked>[1]>[0];
  const noting = (query: Query, wrote: { yes: boolean }): Query => (sql, params) => ((wrote.yes ||= !sql.startsWith('SELECT')), query(sql, params));
  const wrap = (locked: Locked): Locked => async (key, work) => {
    const wrote = { yes: false };
    const lose = () => {
      if (!wrote.yes || state.lost) return false;
      state.lost = true;
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
    const commit = losingFirstCommit(true);
    const a = await crises(url, clock, commit.wrap);
    await a.alerts.evaluation.settled();
    expect(commit.lost()).toBe(true);
    await expectEachOnce(url, 20);
  }, 60_000);

  it('writes a batch once when its COMMIT failed with the connection (rolled back): nothing is taken as written that was not', async () => {
    const clock = { now: Date.now() };
    const url = await postgres.database();
    const commit = losingFirstCommit(false);
    const a = await crises(url, clock, commit.wrap);
    await a.alerts.evaluation.settled();
    expect(commit.lost()).toBe(true);
    await expectEachOnce(url, 20);
    expect(a.alerts.evaluation.waiting()).toBe(0);
  }, 60_000);
});
