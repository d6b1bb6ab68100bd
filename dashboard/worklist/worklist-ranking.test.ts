import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../alerts/index.js';
import { openState } from '../../app/state.js';
import type { Reading } from '../../domain/index.js';
import { tempDir } from '../../test/support/temp.js';
import { LatestReadings } from './latest-readings.js';
import { buildWorklist, type WorklistPatient } from './worklist.js';
import { Ranking, WorklistRanking } from './worklist-ranking.js';

const H = 3_600_000;

function alert(id: number, patientId: string, severity: Alert['severity'], openedAt: number): Alert {
  return { id, patientId, severity, status: 'open', openedAt, updatedAt: openedAt, title: `${severity} ${id}`, message: '', ruleId: 'r', subject: '' } as Alert;
}

function reading(patientId: string, time: number, systolic = 120): Reading {
  return { type: 'blood_pressure', deviceId: `${patientId}-cuff`, patientId, time, receivedAt: time, late: false, fields: { systolic, diastolic: 80 }, tags: {} };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A ranking over `count` patients whose sources count how often they are read. */
async function setUp(count: number) {
  const dir = await tempDir();
  const { db } = openState(dir.path);
  const latest = new LatestReadings(db, 60_000);
  cleanups.push(() => latest.close(), () => db.close(), dir.remove);
  let now = Date.parse('2026-11-30T12:00:00Z');
  const patients: WorklistPatient[] = Array.from({ length: count }, (_, i) => ({ id: `p${i}`, name: `Patient ${i}`, programmes: [], careTeam: `team-${i % 3}` }));
  latest.note(patients.map((p, i) => reading(p.id, now - (i % 50) * H, 110 + (i % 60))));
  const state = { alerts: [] as Alert[], seq: 0, reads: 0, replicated: 0, scale2: new Set<string>() };
  const ranking = new WorklistRanking(
    {
      patients: () => (state.reads++, patients),
      liveAlerts: () => state.alerts,
      spo2Scale2: () => new Set(state.scale2),
      alertSeq: () => state.seq,
      latest,
      replicatedChanges: () => state.replicated,
      silentAfterMs: () => 24 * H,
      now: () => now,
    },
    { maxAgeMs: 1_000, sliceSize: 100 },
  );
  return { ranking, latest, patients, state, advance: (ms: number) => (now += ms), now: () => now };
}

describe('the shared worklist ranking', () => {
  it('ranks as buildWorklist does, each row serialised as the entry it is', async () => {
    const { ranking, latest, patients, state, now } = await setUp(400);
    state.alerts = [alert(1, 'p7', 'warning', now() - H), alert(2, 'p300', 'critical', now() - 2 * H)];
    state.seq = 2;
    const r = await ranking.current();
    const expected = buildWorklist(patients, state.alerts, latest, now(), 24 * H);
    expect(r.rows.map((row) => row.entry)).toEqual(expected);
    expect(r.rows.map((row) => JSON.parse(row.bytes.toString()))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(r.rows[0]!.entry.patient.id).toBe('p300');
    expect(r.lastSeq).toBe(2);
  });

  it("assembles a view's rows once per ranking, in ranked order, with the care teams of every row it may see", async () => {
    const { ranking, state, now } = await setUp(30);
    state.alerts = [alert(1, 'p29', 'critical', now())];
    state.seq = 1;
    const r = await ranking.current();
    const team1 = (row: { entry: { patient: WorklistPatient } }) => (row.entry.patient.careTeam === 'team-1' ? 'shown' : row.entry.patient.careTeam === 'team-2' ? 'counted' : 'hidden');
    const view = r.view('team-1', team1);
    const rows = JSON.parse(`[${view.rows.toString()}]`) as { patient: WorklistPatient }[];
    expect(rows.map((e) => e.patient.id)).toEqual(r.rows.filter((row) => row.entry.patient.careTeam === 'team-1').map((row) => row.entry.patient.id));
    expect(view.count).toBe(10);
    expect(view.teams).toEqual(['team-1', 'team-2']);
    expect(r.view('team-1', () => 'hidden')).toBe(view);
    expect(r.view('none', () => 'hidden')).toMatchObject({ count: 0, teams: [] });
    expect(r.view('none', () => 'hidden').rows.length).toBe(0);
  });

  it('serves every caller within a second from one ranking while only readings change, and says they are behind', async () => {
    const { ranking, latest, state, advance, now } = await setUp(50);
    const first = await ranking.current();
    expect(ranking.isBehind(first)).toBe(false);
    latest.note([reading('p1', now() + 1)]);
    advance(900);
    const again = await ranking.current();
    expect(again).toBe(first);
    expect(ranking.isBehind(again)).toBe(true);
    expect(state.reads).toBe(1);
    advance(100);
    const later = await ranking.current();
    expect(later).not.toBe(first);
    expect(ranking.isBehind(later)).toBe(false);
    expect(state.reads).toBe(2);
  });

  it('ranks again at once after an alert transition, and after a change to the registry made here', async () => {
    const { ranking, state, now } = await setUp(50);
    const first = await ranking.current();
    state.alerts = [alert(1, 'p40', 'critical', now())];
    state.seq = 1;
    const afterAlert = await ranking.current();
    expect(afterAlert).not.toBe(first);
    expect(afterAlert.rows[0]!.entry.patient.id).toBe('p40');
    ranking.invalidate();
    const afterInvalidate = await ranking.current();
    expect(afterInvalidate).not.toBe(afterAlert);
    expect(await ranking.current()).toBe(afterInvalidate);
    expect(state.reads).toBe(3);
    // Another instance's change, applied here by the shared registry's replica.
    state.replicated += 2;
    expect(await ranking.current()).not.toBe(afterInvalidate);
    expect(state.reads).toBe(4);
  });

  it('shares one build between callers that ask while it runs, and starts another for one that needs newer alerts', async () => {
    const { ranking, state } = await setUp(1_000);
    const [a, b] = await Promise.all([ranking.current(), ranking.current()]);
    expect(a).toBe(b);
    expect(state.reads).toBe(1);
    const during = ranking.current();
    ranking.invalidate();
    const newer = ranking.current();
    expect(await during).not.toBe(await newer);
    expect(state.reads).toBe(2);
  });

  it('builds in slices, giving the event loop back between them', async () => {
    const { ranking } = await setUp(1_000);
    // Queued before the build: it runs only if the build gives the event loop a turn before it resolves.
    let turned = false;
    setImmediate(() => (turned = true));
    expect(await ranking.current().then(() => turned)).toBe(true);
    // A ranking served from the one made: no turn needed.
    turned = false;
    setImmediate(() => (turned = true));
    expect(await ranking.current().then(() => turned)).toBe(false);
  });

  it('gives callers a failed build to see, and builds again for the next', async () => {
    const { ranking, state } = await setUp(10);
    state.alerts = null as unknown as Alert[];
    await expect(ranking.current()).rejects.toThrow();
    state.alerts = [];
    await expect(ranking.current()).resolves.toMatchObject({ rows: expect.any(Array) });
  });
});

describe('the shared worklist ranking, reviewed', () => {
  it("ranks again at once when a patient's SpO2 target preset is applied or ends (no alert event, no registry change): their risk is scored on scale 2", async () => {
    const { ranking, latest, state, now } = await setUp(5);
    latest.note([{ type: 'spo2', deviceId: 'p1-ox', patientId: 'p1', time: now(), receivedAt: now(), late: false, fields: { spo2: 89 }, tags: {} }]);
    const risk = (r: Awaited<ReturnType<typeof ranking.current>>) => r.rows.find((row) => row.entry.patient.id === 'p1')!.entry.risk;
    const first = await ranking.current();
    state.scale2.add('p1');
    const applied = await ranking.current();
    expect(applied).not.toBe(first);
    expect(risk(applied)).toEqual(buildWorklist([{ id: 'p1', name: 'Patient 1', programmes: [], careTeam: 'team-1' }], [], latest, now(), 24 * H, new Set(['p1']))[0]!.risk);
    expect(risk(applied)).not.toEqual(risk(first));
    expect(await ranking.current()).toBe(applied);
    state.scale2.delete('p1');
    expect(await ranking.current()).not.toBe(applied);
  });

  it('does not serve a ranking for ever when the wall clock steps back (NTP): its age is unknown, so it is made again', async () => {
    const { ranking, latest, state, advance, now } = await setUp(20);
    const first = await ranking.current();
    advance(-3_600_000);
    latest.note([reading('p1', now() + 1, 200)]);
    const after = await ranking.current();
    expect(after).not.toBe(first);
    expect(after.rows.find((r) => r.entry.patient.id === 'p1')!.entry.latest[0]!.fields).toMatchObject({ systolic: 200 });
    // The ranking made after the step is the one kept: the next caller of the second is served from it.
    advance(10);
    expect(await ranking.current()).toBe(after);
    expect(state.reads).toBe(2);
    // And an invalidation after the step is kept too (not rebuilt for every caller).
    ranking.invalidate();
    const invalidated = await ranking.current();
    expect(await ranking.current()).toBe(invalidated);
    expect(state.reads).toBe(3);
  });

  it('lets every caller that asks while a build waits its turn share that build: the feed moving between callers queues one build, not one each', async () => {
    const { ranking, state } = await setUp(1_000);
    const first = ranking.current();
    const waiting: Promise<unknown>[] = [];
    for (let i = 0; i < 20; i++) {
      state.seq++;
      waiting.push(ranking.current());
    }
    const rankings = (await Promise.all(waiting)) as Awaited<typeof first>[];
    await first;
    expect(state.reads).toBe(2);
    // The build that waited read the feed when it started: it has every transition its callers asked after.
    for (const r of rankings) expect(r.lastSeq).toBe(20);
  });

  it("says a view is behind only for readings of the patients it shows: another team's readings neither reload the page nor tell it they came", async () => {
    const { ranking, latest, now } = await setUp(30);
    const r = await ranking.current();
    const teamOf = (team: string) => (row: { entry: { patient: WorklistPatient } }) => (row.entry.patient.careTeam === team ? 'shown' : 'hidden');
    const team0 = r.view('team-0', teamOf('team-0'));
    const team1 = r.view('team-1', teamOf('team-1'));
    // p1 is in team-1.
    latest.note([reading('p1', now() + 1)]);
    expect(ranking.isBehind(r, team0)).toBe(false);
    expect(ranking.isBehind(r, team1)).toBe(true);
    expect(ranking.isBehind(r)).toBe(true);
  });

  it('keeps views up to a bound on their bytes, not only their number: one beyond it is assembled for its caller alone', async () => {
    const { ranking } = await setUp(300);
    const r = await ranking.current();
    const whole = r.rows.reduce((n, row) => n + row.bytes.length + 1, 0);
    const bounded = new Ranking(r.generatedAt, r.lastSeq, r.latestVersion, r.rows, Math.floor(whole * 2.5));
    const views = Array.from({ length: 5 }, (_, i) => bounded.view(`everyone-${i}`, () => 'shown'));
    // Two whole lists fit; the third and later are not kept, each answered alike.
    expect(bounded.view('everyone-1', () => 'shown')).toBe(views[1]);
    expect(bounded.view('everyone-3', () => 'shown')).not.toBe(views[3]);
    expect(bounded.view('everyone-3', () => 'shown').rows.equals(views[0]!.rows)).toBe(true);
    // A small view still fits beside them.
    const small = bounded.view('p1 only', (row) => (row.entry.patient.id === 'p1' ? 'shown' : 'hidden'));
    expect(bounded.view('p1 only', () => 'hidden')).toBe(small);
  });

  it('still starts a newer build for a caller whose transition came after the waiting build started reading', async () => {
    const { ranking, state } = await setUp(1_000);
    const first = ranking.current();
    state.seq = 1;
    const second = ranking.current();
    await first;
    // The second build has started (read its sources) once the first is done and a turn has passed.
    while (state.reads < 2) await new Promise((r) => setImmediate(r));
    state.seq = 2;
    const third = ranking.current();
    expect((await second).lastSeq).toBe(1);
    expect((await third).lastSeq).toBe(2);
    expect(state.reads).toBe(3);
  });
});

describe('the shared worklist ranking and the registry changed by another process', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('ranks again at once when the CLI moves a patient to another care team or erases one: the old team no longer gets the row', async () => {
    const dir = await tempDir();
    const server = openState(dir.path);
    const latest = new LatestReadings(server.db, 60_000);
    cleanups.push(() => latest.close(), () => server.db.close(), dir.remove);
    for (let i = 0; i < 5; i++) await server.registry.addPatient({ id: `p${i}`, name: `Patient ${i}`, careTeam: 'team-a' });
    const now = Date.now();
    const ranking = new WorklistRanking({
      patients: () => server.registry.listPatients(),
      liveAlerts: () => [],
      spo2Scale2: () => new Set(),
      alertSeq: () => 0,
      latest,
      silentAfterMs: () => 24 * H,
      now: () => now,
    });
    const teamA = (r: Awaited<ReturnType<typeof ranking.current>>) => r.rows.filter((row) => row.entry.patient.careTeam === 'team-a').map((row) => row.entry.patient.id);
    expect(teamA(await ranking.current())).toContain('p1');
    // The CLI: another process, another connection to the same data dir.
    const cli = openState(dir.path);
    cleanups.push(() => cli.db.close());
    await cli.registry.setCareTeam('p1', 'team-b');
    expect(teamA(await ranking.current())).not.toContain('p1');
    cli.db.prepare('DELETE FROM patients WHERE id = ?').run('p2');
    expect((await ranking.current()).rows.map((row) => row.entry.patient.id)).not.toContain('p2');
  });
});
