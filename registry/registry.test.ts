import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStateDb, type StateDb } from '../state/index.js';
import { tempDir } from '../test/support/temp.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import { Registry } from './registry.js';

const T0 = Date.parse('2026-11-01T09:00:00Z');
const HOUR = 3_600_000;

describe('registry', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: StateDb;
  let registry: Registry;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    dir = await tempDir();
    db = openStateDb(dir.path, REGISTRY_MIGRATIONS);
    registry = new Registry(db);
  });
  afterEach(async () => {
    vi.useRealTimers();
    db.close();
    await dir.remove();
  });

  describe('time zones', () => {
    it('gives a new patient the zone asked for, canonically spelt, else the default', () => {
      expect(registry.addPatient({ name: 'A', timeZone: 'europe/london' }).timeZone).toBe('Europe/London');
      expect(registry.addPatient({ name: 'B' }).timeZone).toBe('UTC');
      const paris = new Registry(db, { defaultTimeZone: 'Europe/Paris' });
      expect(paris.addPatient({ name: 'C' }).timeZone).toBe('Europe/Paris');
      expect(paris.listPatients().map((p) => p.timeZone).sort()).toEqual(['Europe/London', 'Europe/Paris', 'UTC']);
    });

    it('refuses a zone Intl does not know, naming it, and changes nothing', () => {
      expect(() => registry.addPatient({ name: 'A', timeZone: 'Mars/Olympus' })).toThrow(
        expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('"Mars/Olympus"') }),
      );
      expect(registry.listPatients()).toEqual([]);
      expect(() => new Registry(db, { defaultTimeZone: 'Nowhere' })).toThrow(/"Nowhere"/);
    });

    it('sets a zone later', () => {
      const p = registry.addPatient({ name: 'A' });
      expect(registry.setTimeZone(p.id, 'America/New_York').timeZone).toBe('America/New_York');
      expect(registry.getPatient(p.id)?.timeZone).toBe('America/New_York');
      expect(() => registry.setTimeZone(p.id, '+01:00')).toThrow(/"\+01:00"/);
      expect(() => registry.setTimeZone('p-none', 'UTC')).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
    });
  });

  describe('programme enrolment times', () => {
    it('enrols at creation, keeps the time of a programme kept, and restarts one left and rejoined', () => {
      const p = registry.addPatient({ name: 'A', programmes: ['hypertension', 'diabetes', 'hypertension'] });
      expect(p).toMatchObject({ programmes: ['hypertension', 'diabetes'], enrolledAt: { hypertension: T0, diabetes: T0 } });

      vi.setSystemTime(T0 + HOUR);
      const changed = registry.setProgrammes(p.id, ['diabetes', 'copd']);
      expect(changed.programmes).toEqual(['diabetes', 'copd']);
      expect(changed.enrolledAt).toEqual({ diabetes: T0, copd: T0 + HOUR });

      vi.setSystemTime(T0 + 2 * HOUR);
      expect(registry.setProgrammes(p.id, ['diabetes', 'copd', 'hypertension']).enrolledAt).toEqual({ diabetes: T0, copd: T0 + HOUR, hypertension: T0 + 2 * HOUR });
      expect(registry.setProgrammes(p.id, []).enrolledAt).toEqual({});
      expect(registry.listPatients()[0]).toMatchObject({ programmes: [], enrolledAt: {} });
    });

    it('changes nothing when a programme is unknown or the patient does not exist', () => {
      const p = registry.addPatient({ name: 'A', programmes: ['copd'] });
      expect(() => registry.setProgrammes(p.id, ['copd', 'astrology'])).toThrow(/"astrology"/);
      expect(() => registry.setProgrammes('p-none', ['copd'])).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      expect(registry.getPatient(p.id)?.enrolledAt).toEqual({ copd: T0 });
    });
  });

  describe('device assignment and status', () => {
    it('records when a device was assigned, and again when it is reassigned', async () => {
      const a = registry.addPatient({ name: 'A' });
      const b = registry.addPatient({ name: 'B' });
      const { device } = await registry.addDevice({ patientId: a.id, id: 'cgm-1' });
      expect(device).toMatchObject({ patientId: a.id, assignedAt: T0, warmUpUntil: null });

      vi.setSystemTime(T0 + HOUR);
      expect(registry.assignDevice('cgm-1', a.id).assignedAt).toBe(T0);
      expect(registry.assignDevice('cgm-1', b.id)).toMatchObject({ patientId: b.id, assignedAt: T0 + HOUR });
      expect(registry.assignDevice('cgm-1', null)).toMatchObject({ patientId: null, assignedAt: null });
      expect(() => registry.assignDevice('cgm-1', 'p-none')).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      expect(() => registry.assignDevice('nope', a.id)).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      expect(registry.listDevices()[0]).toMatchObject({ id: 'cgm-1', patientId: null, assignedAt: null });
    });

    it('keeps the warm-up a status declares until an online status without one, not across a lost link', async () => {
      const a = registry.addPatient({ name: 'A' });
      await registry.addDevice({ patientId: a.id, id: 'cgm-1' });
      const until = '2026-11-01T11:00:00+01:00';
      const warmUp = () => registry.listDevices()[0]?.warmUpUntil;
      registry.recordStatusChanges([
        { kind: 'connected', deviceId: 'cgm-1', at: T0 },
        { kind: 'status', deviceId: 'cgm-1', status: { online: true, battery: 90, warmUpUntil: until }, at: T0 },
      ]);
      expect(warmUp()).toBe(Date.parse(until));
      registry.recordStatusChanges([
        { kind: 'status', deviceId: 'cgm-1', status: { online: false }, at: T0 + 1 },
        { kind: 'disconnected', deviceId: 'cgm-1', at: T0 + 1 },
        { kind: 'connected', deviceId: 'cgm-1', at: T0 + 2 },
      ]);
      expect(registry.listDevices()[0]).toMatchObject({ online: true, battery: 90, warmUpUntil: Date.parse(until) });
      registry.recordStatusChanges([{ kind: 'status', deviceId: 'cgm-1', status: { online: true }, at: T0 + 3 }]);
      expect(warmUp()).toBeNull();
    });
  });
});

describe('registry migrations', () => {
  it('backfills enrolment times from creation and assignment times of assigned devices', async () => {
    const dir = await tempDir();
    try {
      const old = openStateDb(dir.path, REGISTRY_MIGRATIONS.filter((m) => m.version <= 3));
      old.prepare("INSERT INTO patients (id, name, created_at, programmes) VALUES ('p-1', 'A', 1000, '[\"diabetes\",\"copd\"]'), ('p-2', 'B', 2000, '[]')").run();
      old.prepare("INSERT INTO devices (id, patient_id, secret_hash, created_at) VALUES ('d-1', 'p-1', 'x', 1500), ('d-2', NULL, 'x', 1600)").run();
      old.close();
      const db = openStateDb(dir.path, REGISTRY_MIGRATIONS);
      const registry = new Registry(db);
      expect(registry.listPatients()).toMatchObject([
        { id: 'p-1', programmes: ['diabetes', 'copd'], enrolledAt: { diabetes: 1000, copd: 1000 }, timeZone: 'UTC' },
        { id: 'p-2', programmes: [], enrolledAt: {}, timeZone: 'UTC' },
      ]);
      expect(registry.listDevices()).toMatchObject([
        { id: 'd-1', assignedAt: 1500, warmUpUntil: null },
        { id: 'd-2', assignedAt: null, warmUpUntil: null },
      ]);
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
