import { copyFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState, STATE_MIGRATIONS } from '../../app/state.js';
import { SqliteStore } from '../../ingest/index.js';
import { AuditLog, openSqlite } from '../../state/index.js';
import { tempDir } from '../../test/support/temp.js';
import { erasePatient } from '../patient/patient-erase.js';
import { restoreBackup } from './restore-backup.js';
import { takeBackup } from './take-backup.js';

/** A backup made before an erasure, restored over the data that recorded it. */
describe('a restore over data that erased a patient since the backup', () => {
  it('names the erased patients the backup brought back, and no other', async () => {
    const data = await tempDir();
    const elsewhere = await tempDir();
    try {
      const { db, registry } = openState(data.path);
      const store = new SqliteStore(data.path);
      const erased = await registry.addPatient({ name: 'Erased Later' });
      const kept = await registry.addPatient({ name: 'Kept' });
      const target = join(elsewhere.path, 'b');
      await takeBackup({ dataDir: data.path, target, readingStore: 'sqlite', vigilVersion: 'test' });
      await erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: data.path, patientId: erased.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0 });
      await store.close();
      db.close();
      const result = await restoreBackup({ source: target, dataDir: data.path, migrations: STATE_MIGRATIONS, replace: true });
      expect(result.erasedSinceBackup).toEqual([erased.id]);
      const restored = openState(data.path);
      expect(restored.registry.getPatient(kept.id)?.name).toBe('Kept');
      restored.db.close();
    } finally {
      await data.remove();
      await elsewhere.remove();
    }
  });

  it('names a patient whose erasure the replaced data recorded as started, stopped before it deleted them', async () => {
    const data = await tempDir();
    const elsewhere = await tempDir();
    try {
      const { db, registry } = openState(data.path);
      const store = new SqliteStore(data.path);
      const erased = await registry.addPatient({ name: 'Erasure Cut Short' });
      await registry.addPatient({ name: 'Kept' });
      const target = join(elsewhere.path, 'b');
      await takeBackup({ dataDir: data.path, target, readingStore: 'sqlite', vigilVersion: 'test' });
      // Stopped after the erasure was audited as started, before the state database was erased: where a crash
      // (or a kill) while the shared registry is erased leaves it. The patient is still in the replaced data.
      const killed = { erasePatientShared: () => Promise.reject(new Error('killed')) };
      await expect(erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: data.path, patientId: erased.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0, shared: killed })).rejects.toThrow('killed');
      expect(registry.getPatient(erased.id)).toBeDefined();
      await store.close();
      db.close();
      const result = await restoreBackup({ source: target, dataDir: data.path, migrations: STATE_MIGRATIONS, replace: true });
      // The restored audit log has no record of that erasure: unless named here, it is forgotten.
      expect(result.erasedSinceBackup).toEqual([erased.id]);
    } finally {
      await data.remove();
      await elsewhere.remove();
    }
  });

  it('reads the erasure from the write-ahead log of a Vigil that crashed (its vigil.db moved aside as the crash left it)', async () => {
    const data = await tempDir();
    const crashed = await tempDir();
    const elsewhere = await tempDir();
    try {
      const { db, registry } = openState(data.path);
      const store = new SqliteStore(data.path);
      const erased = await registry.addPatient({ name: 'Erased Then Crashed' });
      const target = join(elsewhere.path, 'b');
      await takeBackup({ dataDir: data.path, target, readingStore: 'sqlite', vigilVersion: 'test' });
      // A reader (a backup's snapshot) keeps the erasure's checkpoint from emptying the log: its entries are
      // then only in vigil.db-wal, as a crash right after the erasure leaves them.
      const reader = openSqlite(join(data.path, 'vigil.db'));
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM patients').get();
      await erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: data.path, patientId: erased.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0 });
      // The files as the crash leaves them: the database, its log with the erasure, the shared-memory index.
      for (const f of ['vigil.db', 'vigil.db-wal', 'vigil.db-shm', 'readings.db']) await copyFile(join(data.path, f), join(crashed.path, f));
      expect((await stat(join(crashed.path, 'vigil.db-wal'))).size).toBeGreaterThan(0);
      reader.exec('COMMIT');
      reader.close();
      await store.close();
      db.close();
      const result = await restoreBackup({ source: target, dataDir: crashed.path, migrations: STATE_MIGRATIONS, replace: true });
      expect(result.erasedSinceBackup).toEqual([erased.id]);
    } finally {
      await data.remove();
      await crashed.remove();
      await elsewhere.remove();
    }
  });
});
