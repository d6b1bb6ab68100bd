import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RejectionLog, type SqliteStore } from '../../ingest/index.js';
import { AuditLog, openSqlite, type StateDb } from '../../state/index.js';
import { reading } from '../../test/support/readings.js';
import { useTempDataDirPerTest, type TempDataDir } from '../../test/support/temp-store.js';
import { DAY_MS, type RetentionPolicy } from './policy.js';
import { RetentionSweep } from './retention-sweep.js';
import { statePurges } from './state-purges.js';

const POLICY: RetentionPolicy = { auditDays: 30, deadLetterDays: 10, resolvedAlertDays: 20, readingDays: 40, rejectionDays: 5, careDays: 15 };
const T0 = Date.parse('2026-01-01T00:00:00Z');

function addAlert(db: StateDb, patientId: string, resolvedAt: number | null, subject: string): number {
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO alerts (patient_id, rule_id, subject, status, severity, title, message, opened_at, updated_at, first_observed_at, last_observed_at, latest_values, worst_values, worst_score, resolved_at)
       VALUES (?, 'pulse.extreme', ?, ?, 'warning', 't', 'm', ?, ?, ?, ?, '{}', '{}', 1, ?)`,
    )
    .run(patientId, subject, resolvedAt === null ? 'open' : 'resolved', T0, T0, T0, T0, resolvedAt);
  const alertId = Number(lastInsertRowid);
  db.prepare("INSERT INTO alert_events (alert_id, type, at, actor, alert) VALUES (?, 'opened', ?, NULL, '{}')").run(alertId, T0);
  return alertId;
}

/** A hub inbox entry (a message) created at `createdAt`, expiring at `expiresAt`, and its line in the thread. */
function addCare(db: StateDb, patientId: string, id: string, createdAt: number, expiresAt = createdAt + DAY_MS): void {
  db.prepare("INSERT INTO care_inbox (id, patient_id, hub_id, kind, created_at, expires_at, payload) VALUES (?, ?, 'hub-1', 'message', ?, ?, '{}')").run(id, patientId, createdAt, expiresAt);
  db.prepare("INSERT INTO care_messages (id, patient_id, direction, text, at, author) VALUES (?, ?, 'to_patient', 'hello', ?, 'user:dr')").run(id, patientId, createdAt);
}

/** One check-in answer (a patient-reported observation) given at `at`. */
function addAnswer(db: StateDb, patientId: string, inboxId: string, at: number): void {
  db.prepare("INSERT INTO care_checkin_answers (inbox_id, patient_id, questionnaire, question, answer, score, code_system, code, at, recorded_at) VALUES (?, ?, 'hf_daily', 'breathlessness', 'same', 1, 'urn:test', 'same', ?, ?)").run(inboxId, patientId, at, at);
}

const count = (db: StateDb, table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

describe('retention sweep (fake clock)', () => {
  let dir: TempDataDir['dir'];
  let state: TempDataDir['state'];
  let store: SqliteStore;
  useTempDataDirPerTest((data) => void ({ dir, state, store } = data));

  function sweep(now: { t: number }, batchSize = 7) {
    const rejections = new RejectionLog(state.db, { onLost: () => undefined });
    return new RetentionSweep({
      policy: POLICY,
      purges: statePurges(state.db),
      pruneRejections: (before) => rejections.prune(before),
      readings: store,
      audit: new AuditLog(state.db, () => now.t),
      batchSize,
      now: () => now.t,
    });
  }

  it('keeps each growing table bounded over 60 days of daily runs, and audits each run with its counts', async () => {
    const patient = await state.registry.addPatient({ name: 'Retention Test' });
    const audit = new AuditLog(state.db);
    const rejections = new RejectionLog(state.db, { onLost: () => undefined });
    const now = { t: T0 };
    const run = sweep(now);
    for (let day = 0; day < 60; day++) {
      now.t = T0 + day * DAY_MS;
      for (let i = 0; i < 10; i++) audit.record('user:a', 'patient.view', patient.id, null, undefined, now.t + i);
      addAlert(state.db, patient.id, now.t, `d${day}`);
      state.db
        .prepare("INSERT INTO dead_letters (reading_key, device_id, patient_id, reading_type, reading, status, error, created_at, replayed_at) VALUES ('k', 'dev-1', ?, 'weight', '{}', 400, 'e', ?, ?)")
        .run(patient.id, now.t, now.t);
      rejections.record({ deviceId: 'dev-1', patientId: patient.id, receivedAt: now.t, rejections: [{ ref: '0', code: 'VIGIL_ERR_SCHEMA', message: 'bad' }], payload: Buffer.from('{}'), allRejected: true });
      rejections.flush();
      addCare(state.db, patient.id, `msg-${day}`, now.t);
      await store.write(Array.from({ length: 10 }, (_, i) => reading({ patientId: patient.id, type: 'weight', time: now.t + i, msgId: `${day}-${i}` })));
      await run.run();
      // Bounded: what a period holds (plus today's rows and the run's own two audit entries), never more.
      expect(count(state.db, 'audit_log')).toBeLessThanOrEqual((POLICY.auditDays + 1) * 12);
      expect(count(state.db, 'alerts')).toBeLessThanOrEqual(POLICY.resolvedAlertDays + 1);
      expect(count(state.db, 'alert_events')).toBeLessThanOrEqual(POLICY.resolvedAlertDays + 1);
      expect(count(state.db, 'dead_letters')).toBeLessThanOrEqual(POLICY.deadLetterDays + 1);
      expect(count(state.db, 'rejections')).toBeLessThanOrEqual(POLICY.rejectionDays + 1);
      // An inbox entry also waits for its expiry (a day here) to be past the cut-off.
      expect(count(state.db, 'care_inbox')).toBeLessThanOrEqual(POLICY.careDays + 2);
      expect(count(state.db, 'care_messages')).toBeLessThanOrEqual(POLICY.careDays + 1);
    }
    const stored = await store.queryRaw({ patientId: patient.id, type: 'weight', from: 0, to: now.t + DAY_MS });
    expect(stored.length).toBe((POLICY.readingDays + 1) * 10);
    expect(Math.min(...stored.map((r) => r.time))).toBeGreaterThanOrEqual(now.t - POLICY.readingDays * DAY_MS);

    // Each run: one entry as it starts, one with what it removed.
    const runs = audit.list({ action: 'retention.run', limit: 1000 });
    expect(runs.length).toBe((POLICY.auditDays + 1) * 2);
    expect(runs[1]!.details).toMatchObject({ started: true });
    const last = runs[0]!.details as { removed: Record<string, number> };
    expect(last.removed).toEqual({ audit: 12, deadLetters: 1, resolvedAlerts: 1, readings: 10, rejections: 1, care: 2 });
  });

  it("purges the readings of patients no longer in the registry (orphans) by the same horizon", async () => {
    const now = T0 + 100 * DAY_MS;
    const old = now - (POLICY.readingDays + 1) * DAY_MS;
    const kept = await state.registry.addPatient({ name: 'Still Here' });
    // Readings of patients the registry no longer has: removed by hand, or brought back by a restore.
    await store.write([
      reading({ patientId: 'p-orphan-1', time: old, msgId: 'o1-old' }),
      reading({ patientId: 'p-orphan-1', time: now - DAY_MS, msgId: 'o1-new' }),
      reading({ patientId: 'p-orphan-2', type: 'glucose', time: old, msgId: 'o2-old' }),
      reading({ patientId: kept.id, time: old, msgId: 'k-old' }),
    ]);
    const removed = await sweep({ t: now }).run();
    expect(removed.readings).toBe(3);
    const all = (patientId: string, type: 'blood_pressure' | 'glucose') => store.queryRaw({ patientId, type, from: 0, to: now + DAY_MS });
    expect((await all('p-orphan-1', 'blood_pressure')).map((r) => r.time)).toEqual([now - DAY_MS]);
    expect(await all('p-orphan-2', 'glucose')).toEqual([]);
    expect(await all(kept.id, 'blood_pressure')).toEqual([]);
  });

  it('never deletes an open alert, a dead letter not yet replayed, or audit rows inside the period', async () => {
    const patient = await state.registry.addPatient({ name: 'Kept' });
    const open = addAlert(state.db, patient.id, null, 'open');
    state.db
      .prepare("INSERT INTO dead_letters (reading_key, device_id, patient_id, reading_type, reading, status, error, created_at) VALUES ('k', 'dev-1', ?, 'weight', '{}', 400, 'e', ?)")
      .run(patient.id, T0);
    await sweep({ t: T0 + 1000 * DAY_MS }).run();
    expect(state.db.prepare('SELECT id FROM alerts').all()).toEqual([{ id: open }]);
    expect(count(state.db, 'dead_letters')).toBe(1);
    // The audit log stays append-only inside the period: the trigger refuses a delete the horizon does not cover.
    const audit = new AuditLog(state.db);
    audit.record('user:a', 'patient.view', patient.id, null, undefined, T0 + 999 * DAY_MS);
    expect(() => state.db.prepare('DELETE FROM audit_log WHERE at = ?').run(T0 + 999 * DAY_MS)).toThrow(/append-only/);
  });

  it('purges the care record at its boundary: older than the period and expired goes, still waiting for its hub stays', async () => {
    const patient = await state.registry.addPatient({ name: 'Care Boundary' });
    const now = T0 + 100 * DAY_MS;
    const cut = now - POLICY.careDays * DAY_MS;
    addCare(state.db, patient.id, 'msg-older', cut - 1, cut - 1);
    addCare(state.db, patient.id, 'msg-at-cutoff', cut, cut);
    // Created before the cut-off, still unexpired (an inbox entry waiting for an offline hub): the inbox keeps it.
    addCare(state.db, patient.id, 'msg-waiting', cut - 1, now + DAY_MS);
    addAnswer(state.db, patient.id, 'c-older', cut - 1);
    addAnswer(state.db, patient.id, 'c-at-cutoff', cut);
    const removed = await sweep({ t: now }).run();
    expect(removed.care).toBe(4);
    const ids = (table: string) => (state.db.prepare(`SELECT id FROM ${table} ORDER BY id`).all() as { id: string }[]).map((r) => r.id);
    expect(ids('care_inbox')).toEqual(['msg-at-cutoff', 'msg-waiting']);
    expect(ids('care_messages')).toEqual(['msg-at-cutoff']);
    expect(state.db.prepare('SELECT inbox_id FROM care_checkin_answers').pluck().all()).toEqual(['c-at-cutoff']);
  });

  it("keeps the care team's messages about an alert still open or acknowledged, while those about a resolved one go by their age", async () => {
    const patient = await state.registry.addPatient({ name: 'Live Alert' });
    const now = T0 + 100 * DAY_MS;
    const old = now - POLICY.careDays * DAY_MS - 1;
    const live = addAlert(state.db, patient.id, null, 'live');
    const resolved = addAlert(state.db, patient.id, now - DAY_MS, 'resolved');
    const message = state.db.prepare("INSERT INTO care_messages (id, patient_id, direction, text, at, author, alert_id) VALUES (?, ?, 'to_patient', 'please measure again', ?, 'user:dr', ?)");
    message.run('about-live', patient.id, old, live);
    message.run('about-resolved', patient.id, old, resolved);
    message.run('about-nothing', patient.id, old, null);
    await sweep({ t: now }).run();
    expect(state.db.prepare('SELECT id FROM care_messages ORDER BY id').pluck().all()).toEqual(['about-live']);
  });

  it('audits what a run deleted also when a later kind fails (the reading store lost its table)', async () => {
    const patient = await state.registry.addPatient({ name: 'Failing Store' });
    addAlert(state.db, patient.id, T0, 'old');
    const run = sweep({ t: T0 + 1000 * DAY_MS });
    const readings = openSqlite(join(dir.path, 'readings.db'));
    readings.exec('DROP TABLE readings');
    readings.close();
    await expect(run.run()).rejects.toThrow();
    expect(count(state.db, 'alerts')).toBe(0);
    const [entry] = new AuditLog(state.db).list({ action: 'retention.run' });
    expect(entry?.details).toMatchObject({ removed: { resolvedAlerts: 1 }, failed: expect.any(String) });
  });

  it('audits a run as started, with its cut-offs, before it deletes anything (a run killed midway is on record)', async () => {
    const audit = new AuditLog(state.db);
    audit.record('user:a', 'patient.view', null, null, undefined, T0);
    const purges = statePurges(state.db);
    const seenAtFirstDelete: unknown[] = [];
    const run = new RetentionSweep({
      policy: POLICY,
      purges: {
        ...purges,
        audit: (before, limit) => {
          seenAtFirstDelete.push(...audit.list({ action: 'retention.run' }).map((e) => e.details));
          // Killed here: nothing after the first delete runs.
          throw new Error('killed');
        },
      },
      pruneRejections: () => 0,
      audit,
      now: () => T0 + 1000 * DAY_MS,
    });
    await run.run().catch(() => undefined);
    expect(seenAtFirstDelete).toEqual([{ started: true, before: expect.objectContaining({ audit: new Date(T0 + (1000 - POLICY.auditDays) * DAY_MS).toISOString() }) }]);
  });

  it('ends a run after the current batch when Vigil stops, and still audits what it did', async () => {
    const audit = new AuditLog(state.db);
    for (let i = 0; i < 50; i++) audit.record('user:a', 'patient.view', null, null, undefined, T0 + i);
    const run = sweep({ t: T0 + 1000 * DAY_MS }, 1);
    const running = run.run();
    // After the first batch: the run yields to the event loop between batches, which is when a stop is seen.
    setImmediate(() => run.stop());
    const removed = await running;
    expect(removed.audit).toBeGreaterThan(0);
    expect(removed.audit).toBeLessThan(50);
    expect(audit.list({ action: 'retention.run' }).map((e) => Object.keys(e.details as object)[0])).toEqual(['removed', 'started']);
  });

  it('purges, with a shared audit log, only the audit entries already shipped to it', () => {
    const audit = new AuditLog(state.db);
    for (let i = 0; i < 4; i++) audit.record('user:dr', 'patient.view', 'p-1', null, undefined, T0 + i);
    // The first two shipped; the shipper's cursor says so (PostgreSQL out of reach since).
    state.db.prepare('UPDATE audit_shipping SET shipped_id = (SELECT min(id) + 1 FROM audit_log)').run();
    expect(statePurges(state.db, { auditShippedOnly: true }).audit(T0 + DAY_MS, 100)).toBe(2);
    expect(audit.list().map((e) => e.at)).toEqual([T0 + 3, T0 + 2]);
    expect(statePurges(state.db).audit(T0 + DAY_MS, 100)).toBe(2);
  });

  it('keeps a kind whose period is 0 for ever', async () => {
    const patient = await state.registry.addPatient({ name: 'Forever' });
    addAlert(state.db, patient.id, T0, 'old');
    const rejections = new RejectionLog(state.db, { onLost: () => undefined });
    const run = new RetentionSweep({
      policy: { ...POLICY, resolvedAlertDays: 0, auditDays: 0 },
      purges: statePurges(state.db),
      pruneRejections: (before) => rejections.prune(before),
      audit: new AuditLog(state.db),
      now: () => T0 + 5000 * DAY_MS,
    });
    const removed = await run.run();
    expect(removed.resolvedAlerts).toBe(0);
    expect(count(state.db, 'alerts')).toBe(1);
  });
});
