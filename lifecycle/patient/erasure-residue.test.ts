import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { SqliteStore } from '../../ingest/index.js';
import { AuditLog, STATE_DB_FILE } from '../../state/index.js';
import { tempDir } from '../../test/support/temp.js';
import { erasePatient } from './patient-erase.js';

const NAME = 'Rhiannon Residue';

/** What an erasure leaves on disk: a deleted row must not stay legible in the database file's free pages. */
describe('the state database file after an erasure', () => {
  it('holds the name of the erased patient nowhere, not even in pages SQLite freed', async () => {
    const dir = await tempDir();
    try {
      const { db, registry } = openState(dir.path);
      const store = new SqliteStore(dir.path);
      const patient = await registry.addPatient({ name: NAME });
      // Enough other patients that the erased one's page is not the last one (which SQLite would truncate away).
      for (let i = 0; i < 200; i++) await registry.addPatient({ name: `Other Patient ${i}` });
      await erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: dir.path, patientId: patient.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0 });
      const legible = async () => {
        const found = [];
        for (const file of [STATE_DB_FILE, `${STATE_DB_FILE}-wal`]) {
          if (existsSync(join(dir.path, file)) && (await readFile(join(dir.path, file))).includes(NAME)) found.push(file);
        }
        return found;
      };
      // While the database is still open (a running server keeps its write-ahead log, with the rows as inserted).
      expect(await legible()).toEqual([]);
      await store.close();
      db.close();
      expect(await legible()).toEqual([]);
    } finally {
      await dir.remove();
    }
  });
});
