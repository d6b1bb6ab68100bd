import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState } from '../../app/state.js';
import { SqliteStore } from '../../ingest/index.js';
import { Outbox } from '../../ingest/outbox/outbox.js';
import type { Reading } from '../../domain/index.js';
import { reading } from '../../test/support/readings.js';
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

/** The outbox after an erasure: readings already shipped stay in the active segment until it rolls over (64 MB). */
describe('the outbox after an erasure', () => {
  it("leaves none of the erased patient's shipped readings legible in a segment, and every other patient's unshipped reading in place", async () => {
    const dir = await tempDir();
    try {
      const { db, registry } = openState(dir.path);
      const store = new SqliteStore(dir.path);
      const erased = await registry.addPatient({ name: 'Shipped Then Erased' });
      const other = await registry.addPatient({ name: 'Still Waiting' });
      const dev = (patientId: string, i: number) => reading({ patientId, deviceId: `dev-${patientId}`, time: Date.parse('2026-11-22T08:00:00Z') + i * 60_000, msgId: `${patientId}-${i}` });
      // A running server's outbox: the erased patient's readings among the other's, shipped (the checkpoint
      // on disk is past them), then one of the other patient's acknowledged and not yet shipped.
      const outbox = await Outbox.open({ dir: join(dir.path, 'outbox') });
      await outbox.append([dev(erased.id, 0), dev(other.id, 0), dev(erased.id, 1)]);
      await outbox.append([dev(other.id, 1), dev(erased.id, 2)]);
      const shipped = await outbox.read(outbox.checkpoint, 100);
      await store.write(shipped.records);
      await outbox.ack(shipped.next, shipped.records.length);
      await outbox.persistCheckpoint();
      await outbox.append([dev(other.id, 2)]);
      await erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: dir.path, patientId: erased.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0 });
      const segments = async () => {
        const names = (await readdir(join(dir.path, 'outbox'))).filter((n) => n.endsWith('.log'));
        return Buffer.concat(await Promise.all(names.map((n) => readFile(join(dir.path, 'outbox', n)))));
      };
      // While the server still has the segment open and goes on appending to it.
      expect((await segments()).includes(erased.id)).toBe(false);
      await outbox.append([dev(other.id, 3)]);
      await outbox.close();
      expect((await segments()).includes(erased.id)).toBe(false);
      expect((await segments()).includes(`${other.id}-0`)).toBe(true);

      // The next start ships the other patient's two unshipped readings, and only those.
      const recovered: Reading[] = [];
      const damage: unknown[] = [];
      await (await Outbox.open({ dir: join(dir.path, 'outbox'), onDamage: (what) => damage.push(what) }, (r) => recovered.push(r))).close();
      expect(recovered.map((r) => r.msgId)).toEqual([`${other.id}-2`, `${other.id}-3`]);
      // With its checkpoint lost, a start ships again from the first record: the blanked records are not damage.
      await writeFile(join(dir.path, 'outbox', 'checkpoint.json'), '{');
      const again: Reading[] = [];
      await (await Outbox.open({ dir: join(dir.path, 'outbox'), onDamage: (what) => damage.push(what) }, (r) => again.push(r))).close();
      expect(again.map((r) => r.msgId)).toEqual([0, 1, 2, 3].map((i) => `${other.id}-${i}`));
      expect(damage).toEqual(['outbox checkpoint damaged: shipping again from the oldest segment (stores overwrite duplicates)']);
      await store.close();
      db.close();
    } finally {
      await dir.remove();
    }
  });

  it("removes the erased patient's damaged records the outbox set aside, and keeps another's", async () => {
    const dir = await tempDir();
    try {
      const { db, registry } = openState(dir.path);
      const store = new SqliteStore(dir.path);
      const erased = await registry.addPatient({ name: 'Damaged Then Erased' });
      const other = await registry.addPatient({ name: 'Damaged And Kept' });
      // Lines the outbox found damaged (a checksum that does not match), kept whole for an operator.
      const quarantine = join(dir.path, 'outbox', 'quarantine');
      await mkdir(quarantine, { recursive: true });
      await writeFile(join(quarantine, '1-0.checksum.bad'), `{"patientId":${JSON.stringify(erased.id)},"deviceId":"d","type":"heart_rate","fields":{"value":7`);
      await writeFile(join(quarantine, '1-90.checksum.bad'), `{"patientId":${JSON.stringify(other.id)},"deviceId":"e","type":"heart_rate"`);
      const result = await erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: dir.path, patientId: erased.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0 });
      expect(await readdir(quarantine)).toEqual(['1-90.checksum.bad']);
      expect(result.outboxRecords).toBe(1);
      await store.close();
      db.close();
    } finally {
      await dir.remove();
    }
  });
});
