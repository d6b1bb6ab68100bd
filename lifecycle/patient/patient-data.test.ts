import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { InfluxStore, type ReadingStore, type SqliteStore } from '../../ingest/index.js';
import { Outbox } from '../../ingest/outbox/outbox.js';
import { AuditLog, type StateDb } from '../../state/index.js';
import { startInfluxd, type InfluxInstance } from '../../test/support/influxd.js';
import { reading } from '../../test/support/readings.js';
import { tempDir } from '../../test/support/temp.js';
import { useTempDataDirPerTest, type TempDataDir } from '../../test/support/temp-store.js';
import { erasePatient } from './patient-erase.js';
import { exportPatient, type PatientExportManifest } from './patient-export.js';
import { ALERT_CHILD_TABLES, KEPT_AFTER_ERASURE, PATIENT_TABLES } from './patient-tables.js';

const NAME = 'Erin Erasable';
const T = Date.parse('2026-11-20T08:00:00Z');
const by = { name: 'cli:operator', origin: 'cli' };

function tables(db: StateDb): { name: string; columns: string[] }[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(({ name }) => ({
    name,
    columns: (db.prepare(`SELECT name FROM pragma_table_info('${name}')`).all() as { name: string }[]).map((c) => c.name),
  }));
}

/** A patient with a device, readings, an alert with an event and a note, a rule override, a rejection and audit entries. */
async function clinic(db: StateDb, registry: ReturnType<typeof openState>['registry'], store: ReadingStore) {
  const audit = new AuditLog(db);
  const patient = await registry.addPatient({ name: NAME, programmes: ['hypertension'] });
  const other = await registry.addPatient({ name: 'Otto Other' });
  await registry.addDevice({ patientId: patient.id, id: 'cuff-erin' });
  await registry.addDevice({ patientId: other.id, id: 'cuff-otto' });
  const { lastInsertRowid } = db
    .prepare(
      `INSERT INTO alerts (patient_id, rule_id, subject, status, severity, title, message, opened_at, updated_at, first_observed_at, last_observed_at, latest_values, worst_values, worst_score, resolved_at, resolve_note)
       VALUES (?, 'bp.high', '', 'resolved', 'warning', 'High blood pressure', '162/101 mmHg', ?, ?, ?, ?, '{}', '{}', 1, ?, '=HYPERLINK("x")')`,
    )
    .run(patient.id, T, T, T, T, T);
  db.prepare("INSERT INTO alert_events (alert_id, type, at, actor, alert) VALUES (?, 'opened', ?, NULL, '{}')").run(Number(lastInsertRowid), T);
  db.prepare("INSERT INTO rule_overrides (patient_id, rule_id, override, actor, updated_at, note) VALUES (?, 'bp.high', '{}', 'user:dr', ?, 'white coat')").run(patient.id, T);
  db.prepare("INSERT INTO rejections (device_id, patient_id, ref, code, message, received_at) VALUES ('cuff-erin', ?, '0', 'VIGIL_ERR_SCHEMA', 'bad', ?)").run(patient.id, T);
  audit.record('user:dr', 'patient.view', patient.id, null);
  // The care loop's record: a medication, a dose reminder in the hub's inbox, the message thread both ways.
  db.prepare("INSERT INTO care_medications (id, patient_id, name, dose, times, window_minutes, started_at) VALUES ('m-erin', ?, 'Ramipril', '5 mg', '[\"08:00\"]', 120, ?)").run(patient.id, T);
  db.prepare("INSERT INTO care_inbox (id, patient_id, hub_id, kind, subject, due_at, created_at, expires_at, payload, answer) VALUES ('d-erin', ?, 'hub-erin', 'medication_reminder', 'm-erin', ?, ?, ?, '{}', 'taken')").run(patient.id, T, T, T + 3_600_000);
  for (const [id, direction] of [['msg-to-erin', 'to_patient'], ['msg-from-erin', 'from_patient']] as const) {
    db.prepare("INSERT INTO care_messages (id, patient_id, direction, text, at, author) VALUES (?, ?, ?, 'How are you, Erin Erasable?', ?, 'user:dr')").run(id, patient.id, direction, T);
  }
  const bp = (patientId: string, deviceId: string, i: number) => reading({ patientId, deviceId, time: T + i * 60_000, msgId: `${deviceId}-${i}` });
  await store.write([bp(patient.id, 'cuff-erin', 0), bp(patient.id, 'cuff-erin', 1), bp(other.id, 'cuff-otto', 0)]);
  await store.write([reading({ patientId: patient.id, deviceId: 'cuff-erin', type: 'glucose', time: T, fields: { value: 110 }, tags: { source: 'meter' } })]);
  return { patient, other, audit };
}

describe("a patient's data: export and erasure", () => {
  let dir: TempDataDir['dir'];
  let state: TempDataDir['state'];
  let store: SqliteStore;
  useTempDataDirPerTest((data) => void ({ dir, state, store } = data));

  it('knows every table that names a patient (a table added later must join the export and the erasure)', () => {
    const known = new Set<string>([...Object.keys(PATIENT_TABLES), ...Object.keys(KEPT_AFTER_ERASURE)]);
    const naming = tables(state.db).filter((t) => t.columns.includes('patient_id') || t.name === 'patients').map((t) => t.name);
    expect(naming.filter((t) => !known.has(t))).toEqual([]);
    for (const child of ALERT_CHILD_TABLES) expect(tables(state.db).map((t) => t.name)).toContain(child);
  });

  it('exports everything held about the patient as CSV with a manifest of checksums, and audits it', async () => {
    const { patient } = await clinic(state.db, state.registry, store);
    const out = join(dir.path, 'export');
    await exportPatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, out, by, vigilVersion: 'test' });
    const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')) as PatientExportManifest;
    const rows = Object.fromEntries(manifest.files.map((f) => [f.path, f.rows]));
    expect(rows).toMatchObject({ 'patient.csv': 1, 'devices.csv': 1, 'alerts.csv': 1, 'alert-events.csv': 1, 'rule-overrides.csv': 1, 'rejections.csv': 1, 'audit.csv': 1, 'readings-blood_pressure.csv': 2, 'readings-glucose.csv': 1 });
    for (const f of manifest.files) expect(createHash('sha256').update(await readFile(join(out, f.path))).digest('hex')).toBe(f.sha256);
    expect(await readFile(join(out, 'patient.csv'), 'utf8')).toContain(NAME);
    const devices = await readFile(join(out, 'devices.csv'), 'utf8');
    expect(devices).toContain('cuff-erin');
    expect(devices).not.toContain('cuff-otto');
    expect(devices).not.toMatch(/secret|sha256|scrypt/);
    expect(await readFile(join(out, 'readings-blood_pressure.csv'), 'utf8')).toMatch(/^time,device_id,diastolic,systolic\r\n2026-11-20T08:00:00.000Z,cuff-erin,80,120\r\n/);
    // A note that a spreadsheet would run as a formula is defused.
    expect(await readFile(join(out, 'alerts.csv'), 'utf8')).toContain(`"'=HYPERLINK(""x"")"`);
    expect(new AuditLog(state.db).list({ action: 'patient.export' })).toMatchObject([{ actor: 'cli:operator', patientId: patient.id }]);
  });

  it('exports the readings still in the outbox (acknowledged, not yet stored) with the stored ones, each once', async () => {
    const { patient, other } = await clinic(state.db, state.registry, store);
    const outbox = await Outbox.open({ dir: join(dir.path, 'outbox') });
    // Already stored, still behind the checkpoint (it is written at most once a second): exported once.
    const stored = reading({ patientId: patient.id, deviceId: 'cuff-erin', time: T + 60_000, msgId: 'cuff-erin-1' });
    const waiting = reading({ patientId: patient.id, deviceId: 'cuff-erin', time: T + 120_000, msgId: 'cuff-erin-2', fields: { systolic: 141, diastolic: 92 } });
    await outbox.append([stored, waiting, reading({ patientId: other.id, deviceId: 'cuff-otto', time: T + 120_000, msgId: 'cuff-otto-2' })]);
    // A device that sent the same message twice after a reconnect: the store keeps it once, and so does the export.
    await outbox.append([waiting]);
    await outbox.append([reading({ patientId: patient.id, deviceId: 'cuff-erin', type: 'weight', time: T + 180_000, msgId: 'scale-1', fields: { value: 71.5 } })]);
    await outbox.close();
    const out = join(dir.path, 'export');
    const manifest = await exportPatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, out, by });
    expect(Object.fromEntries(manifest.files.map((f) => [f.path, f.rows]))).toMatchObject({ 'readings-blood_pressure.csv': 3, 'readings-weight.csv': 1 });
    const bp = await readFile(join(out, 'readings-blood_pressure.csv'), 'utf8');
    expect(bp.split('\r\n').filter(Boolean)).toEqual([
      'time,device_id,diastolic,systolic',
      '2026-11-20T08:00:00.000Z,cuff-erin,80,120',
      '2026-11-20T08:01:00.000Z,cuff-erin,80,120',
      '2026-11-20T08:02:00.000Z,cuff-erin,92,141',
    ]);
    expect(await readFile(join(out, 'readings-weight.csv'), 'utf8')).toContain('2026-11-20T08:03:00.000Z,cuff-erin,71.5');
    expect(bp).not.toContain('cuff-otto');
  });

  it('erases the patient from every table and the embedded store, keeps the other patient, and audits under a pseudonym', async () => {
    const { patient, other } = await clinic(state.db, state.registry, store);
    const result = await erasePatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, by, settleMs: 0 });
    expect(result.readings).toBe(3);
    for (const t of tables(state.db)) {
      if (t.name === 'audit_log' || t.name === 'erasure_key') continue;
      const text = JSON.stringify(state.db.prepare(`SELECT * FROM ${t.name}`).all());
      expect(text, t.name).not.toContain(NAME);
      expect(text, t.name).not.toContain(patient.id);
    }
    expect(state.db.prepare("SELECT patient_id FROM devices WHERE id = 'cuff-erin'").get()).toEqual({ patient_id: null });
    expect(result.removed).toMatchObject({ care_medications: 1, care_inbox: 1, care_messages: 2 });
    const range = { patientId: patient.id, from: 0, to: T + 86_400_000 };
    expect(await store.queryRaw({ ...range, type: 'blood_pressure' })).toEqual([]);
    expect(await store.queryRaw({ ...range, type: 'glucose' })).toEqual([]);
    expect(await store.queryRaw({ ...range, patientId: other.id, type: 'blood_pressure' })).toHaveLength(1);
    expect(state.registry.getPatient(other.id)?.name).toBe('Otto Other');

    const [erasure] = new AuditLog(state.db).list({ action: 'patient.erase' });
    expect(erasure).toMatchObject({ actor: 'cli:operator', patientId: null, target: `erased:${result.pseudonym}` });
    expect(JSON.stringify(erasure)).not.toContain(patient.id);
    expect(JSON.stringify(state.db.prepare('SELECT * FROM audit_log').all())).not.toContain(NAME);
    // Running it again (a store that was down the first time) is safe.
    await expect(erasePatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, by, settleMs: 0 })).resolves.toMatchObject({ pseudonym: result.pseudonym, readings: 0 });
  });

  it('names the exports handed out before, which it cannot erase', async () => {
    const { patient, other } = await clinic(state.db, state.registry, store);
    const out = join(dir.path, 'export-before-erasure');
    await exportPatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, out, by });
    await exportPatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: other.id, out: join(dir.path, 'other'), by });
    const result = await erasePatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, by, settleMs: 0 });
    expect(result.earlierExports).toEqual([{ at: expect.any(Number), actor: 'cli:operator', target: out }]);
  });

  it('names the data a restore moved aside in the data dir, which it does not open', async () => {
    const { patient } = await clinic(state.db, state.registry, store);
    const aside = join(dir.path, 'replaced-2026-11-01T00-00-00-000Z');
    await mkdir(aside);
    await copyFile(join(dir.path, 'vigil.db'), join(aside, 'vigil.db'));
    const result = await erasePatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, by, settleMs: 0 });
    expect(result.replacedData).toEqual([aside]);
  });

  it('does not report success while readings of the patient still wait in the outbox', async () => {
    const { patient } = await clinic(state.db, state.registry, store);
    const outbox = await Outbox.open({ dir: join(dir.path, 'outbox') });
    await outbox.append([reading({ patientId: patient.id, deviceId: 'cuff-erin', time: T + 3_600_000 })]);
    await outbox.close();
    await expect(erasePatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, by, settleMs: 0, outboxWaitMs: 300 })).rejects.toThrow(/still wait in the outbox/);
    expect(new AuditLog(state.db).list({ action: 'patient.erase' })[0]?.details).toMatchObject({ readingsStillQueued: true });
  });
});

describe('erasure in InfluxDB', () => {
  let influx: InfluxInstance;
  beforeAll(async () => {
    influx = await startInfluxd();
  });
  afterAll(async () => {
    await influx.destroy();
  });

  it("drops every series of the patient and leaves no trace of the id in the database's tag values", async () => {
    const dir = await tempDir();
    const state = openState(dir.path);
    try {
      const store = await InfluxStore.open({ url: influx.url, database: 'vigil' });
      const { patient, other } = await clinic(state.db, state.registry, store);
      expect((await influx.query('SHOW TAG VALUES WITH KEY = "patient_id"')).map((r) => r[1])).toContain(patient.id);
      await erasePatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, by, settleMs: 0 });
      expect((await influx.query('SHOW TAG VALUES WITH KEY = "patient_id"')).map((r) => r[1])).toEqual([other.id]);
      expect(await influx.query(`SELECT * FROM blood_pressure, glucose WHERE patient_id = '${patient.id}'`)).toEqual([]);
      expect(await influx.query(`SELECT * FROM blood_pressure WHERE patient_id = '${other.id}'`)).toHaveLength(1);
    } finally {
      state.db.close();
      await dir.remove();
    }
  });
});
