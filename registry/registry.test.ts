import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStateDb, type StateDb } from '../state/index.js';
import { registryBackends } from '../test/support/registry-backends.js';
import { tempDir } from '../test/support/temp.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import { Registry } from './registry.js';

const T0 = Date.parse('2026-11-01T09:00:00Z');
const HOUR = 3_600_000;

describe.each(registryBackends())('registry ($name)', (backend) => {
  let instance: Awaited<ReturnType<typeof backend.open>>;
  let db: StateDb;
  let registry: Registry;

  beforeEach(async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: T0 });
    instance = await backend.open();
    ({ db, registry } = instance);
  });
  afterEach(async () => {
    vi.useRealTimers();
    await instance.close();
  });

  describe('time zones', () => {
    it('gives a new patient the zone asked for, canonically spelt, else the default', async () => {
      expect((await registry.addPatient({ name: 'A', timeZone: 'europe/london' })).timeZone).toBe('Europe/London');
      expect((await registry.addPatient({ name: 'B' })).timeZone).toBe('UTC');
      const paris = await instance.another({ defaultTimeZone: 'Europe/Paris' });
      expect((await paris.addPatient({ name: 'C' })).timeZone).toBe('Europe/Paris');
      expect(paris.listPatients().map((p) => p.timeZone).sort()).toEqual(['Europe/London', 'Europe/Paris', 'UTC']);
    });

    it('refuses a zone Intl does not know, naming it, and changes nothing', async () => {
      await expect(registry.addPatient({ name: 'A', timeZone: 'Mars/Olympus' })).rejects.toThrow(
        expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringContaining('"Mars/Olympus"') }),
      );
      expect(registry.listPatients()).toEqual([]);
      expect(() => new Registry(db, { defaultTimeZone: 'Nowhere' })).toThrow(/"Nowhere"/);
    });

    it('sets a zone later', async () => {
      const p = await registry.addPatient({ name: 'A' });
      expect((await registry.setTimeZone(p.id, 'America/New_York')).timeZone).toBe('America/New_York');
      expect(registry.getPatient(p.id)?.timeZone).toBe('America/New_York');
      await expect(registry.setTimeZone(p.id, '+01:00')).rejects.toThrow(/"\+01:00"/);
      await expect(registry.setTimeZone('p-none', 'UTC')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
    });
  });

  describe('programme enrolment times', () => {
    it('enrols at creation, keeps the time of a programme kept, and restarts one left and rejoined', async () => {
      const p = await registry.addPatient({ name: 'A', programmes: ['hypertension', 'diabetes', 'hypertension'] });
      expect(p).toMatchObject({ programmes: ['hypertension', 'diabetes'], enrolledAt: { hypertension: T0, diabetes: T0 } });

      vi.setSystemTime(T0 + HOUR);
      const changed = await registry.setProgrammes(p.id, ['diabetes', 'copd']);
      expect(changed.programmes).toEqual(['diabetes', 'copd']);
      expect(changed.enrolledAt).toEqual({ diabetes: T0, copd: T0 + HOUR });

      vi.setSystemTime(T0 + 2 * HOUR);
      expect((await registry.setProgrammes(p.id, ['diabetes', 'copd', 'hypertension'])).enrolledAt).toEqual({ diabetes: T0, copd: T0 + HOUR, hypertension: T0 + 2 * HOUR });
      expect((await registry.setProgrammes(p.id, [])).enrolledAt).toEqual({});
      expect(registry.listPatients()[0]).toMatchObject({ programmes: [], enrolledAt: {} });
    });

    it('changes nothing when a programme is unknown or the patient does not exist', async () => {
      const p = await registry.addPatient({ name: 'A', programmes: ['copd'] });
      await expect(registry.setProgrammes(p.id, ['copd', 'astrology'])).rejects.toThrow(/"astrology"/);
      await expect(registry.setProgrammes('p-none', ['copd'])).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      expect(registry.getPatient(p.id)?.enrolledAt).toEqual({ copd: T0 });
    });
  });

  describe('device assignment and status', () => {
    it('records when a device was assigned, and again when it is reassigned', async () => {
      const a = await registry.addPatient({ name: 'A' });
      const b = await registry.addPatient({ name: 'B' });
      const { device } = await registry.addDevice({ patientId: a.id, id: 'cgm-1' });
      expect(device).toMatchObject({ patientId: a.id, assignedAt: T0, warmUpUntil: null });

      vi.setSystemTime(T0 + HOUR);
      expect((await registry.assignDevice('cgm-1', a.id)).assignedAt).toBe(T0);
      expect(await registry.assignDevice('cgm-1', b.id)).toMatchObject({ patientId: b.id, assignedAt: T0 + HOUR });
      expect(await registry.assignDevice('cgm-1', null)).toMatchObject({ patientId: null, assignedAt: null });
      await expect(registry.assignDevice('cgm-1', 'p-none')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      await expect(registry.assignDevice('nope', a.id)).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      expect(registry.listDevices()[0]).toMatchObject({ id: 'cgm-1', patientId: null, assignedAt: null });
    });

    it('keeps the warm-up a status declares until an online status without one, not across a lost link', async () => {
      const a = await registry.addPatient({ name: 'A' });
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

  describe('provisioning', () => {
    it('refuses a patient or device id taken, and a device for a patient that does not exist', async () => {
      await registry.addPatient({ name: 'A', id: 'p-a' });
      await expect(registry.addPatient({ name: 'A again', id: 'p-a' })).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFLICT' }));
      await registry.addDevice({ patientId: 'p-a', id: 'cuff-1' });
      await expect(registry.addDevice({ patientId: 'p-a', id: 'cuff-1' })).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFLICT' }));
      await expect(registry.addDevice({ patientId: 'p-none', id: 'cuff-2' })).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      expect(registry.listPatients().map((p) => p.name)).toEqual(['A']);
      expect(registry.listDevices().map((d) => d.id)).toEqual(['cuff-1']);
    });

    it('authenticates a device by its secret until it is revoked, and again with a rotated secret only', async () => {
      await registry.addPatient({ name: 'A', id: 'p-a' });
      const { secret } = await registry.addDevice({ patientId: 'p-a', id: 'cuff-1', kind: 'hub' });
      expect(await registry.authenticateDevice('cuff-1', Buffer.from(secret))).toBe('ok');
      expect(await registry.authenticateDevice('cuff-1', Buffer.from('wrong'))).toBe('bad-secret');
      expect(await registry.authenticateDevice('cuff-9', Buffer.from(secret))).toBe('unknown');
      expect(registry.getDevice('cuff-1')?.kind).toBe('hub');

      vi.setSystemTime(T0 + HOUR);
      expect((await registry.revokeDevice('cuff-1')).revokedAt).toBe(T0 + HOUR);
      vi.setSystemTime(T0 + 2 * HOUR);
      expect((await registry.revokeDevice('cuff-1')).revokedAt).toBe(T0 + HOUR);
      expect(await registry.authenticateDevice('cuff-1', Buffer.from(secret))).toBe('revoked');
      expect(registry.revokedDeviceIds()).toEqual(new Set(['cuff-1']));

      const rotated = await registry.rotateSecret('cuff-1');
      expect(await registry.authenticateDevice('cuff-1', Buffer.from(rotated))).toBe('ok');
      expect(await registry.authenticateDevice('cuff-1', Buffer.from(secret))).toBe('bad-secret');
      await expect(registry.rotateSecret('cuff-9')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
      await expect(registry.revokeDevice('cuff-9')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
    });

    it('moves a patient to a care team and back to none', async () => {
      await registry.addPatient({ name: 'A', id: 'p-a', careTeam: 'cardiology' });
      expect((await registry.setCareTeam('p-a', 'renal')).careTeam).toBe('renal');
      expect((await registry.setCareTeam('p-a', null)).careTeam).toBeNull();
      await expect(registry.setCareTeam('p-a', 'bad/team')).rejects.toThrow(/care team/);
      await expect(registry.setCareTeam('p-none', 'renal')).rejects.toThrow(expect.objectContaining({ code: 'VIGIL_ERR_NOT_FOUND' }));
    });

    it('never moves a last-seen time backwards', async () => {
      await registry.addPatient({ name: 'A', id: 'p-a' });
      await registry.addDevice({ patientId: 'p-a', id: 'cuff-1' });
      registry.markSeen([['cuff-1', T0 + 5]]);
      registry.markSeen([['cuff-1', T0 + 3]]);
      expect(registry.getDevice('cuff-1')?.lastSeenAt).toBe(T0 + 5);
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
