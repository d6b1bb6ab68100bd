import { mkdir, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState, STATE_MIGRATIONS } from '../../app/state.js';
import { SqliteStore } from '../../ingest/index.js';
import { Outbox } from '../../ingest/outbox/outbox.js';
import { AuditLog, openSqlite } from '../../state/index.js';
import { smallTmpfs } from '../../test/support/fill-disk.js';
import { reading } from '../../test/support/readings.js';
import { cleanedAfterEachTest } from '../../test/support/temp-dirs.js';
import { erasePatient } from '../patient/patient-erase.js';
import { restoreBackup } from './restore-backup.js';
import { takeBackup } from './take-backup.js';

const NAME = 'Zelda Zebrafinch';

/** What a backup directory holds: health data readable by its owner only, and nothing that was erased. */
describe('the files of a backup', () => {
  const { dir, later } = cleanedAfterEachTest();

  /** Every regular file under `root`, with its bytes. */
  async function filesOf(root: string): Promise<{ path: string; bytes: Buffer; mode: string }[]> {
    const out = [];
    for (const name of await readdir(root, { recursive: true })) {
      const s = await stat(join(root, name));
      if (s.isFile()) out.push({ path: name, bytes: await readFile(join(root, name)), mode: (s.mode & 0o777).toString(8) });
    }
    return out;
  }

  it('is readable by its owner only, also in a directory an operator made beforehand', async () => {
    const data = await dir();
    openState(data).db.close();
    await new SqliteStore(data).close();
    const target = join(await dir(), 'nightly');
    await mkdir(target, { mode: 0o755 });
    await takeBackup({ dataDir: data, target, readingStore: 'sqlite', vigilVersion: 'test' });
    expect(((await stat(target)).mode & 0o777).toString(8)).toBe('700');
    for (const f of await filesOf(target)) expect(f.mode, f.path).toBe('600');
  });

  it('holds nothing of a patient erased before it was taken, while their shipped readings are still in the outbox segment', async () => {
    const data = await dir();
    const { db, registry } = openState(data);
    const store = new SqliteStore(data);
    const outbox = await Outbox.open({ dir: join(data, 'outbox') });
    try {
      const erased = await registry.addPatient({ name: NAME });
      const kept = await registry.addPatient({ name: 'Kept Patient' });
      await outbox.append(Array.from({ length: 50 }, (_, i) => reading({ patientId: erased.id, deviceId: 'cuff-z', time: 1_000_000 + i, msgId: `z${i}` })));
      const batch = await outbox.read(outbox.checkpoint, 100);
      await store.write(batch.records);
      await outbox.ack(batch.next, batch.records.length);
      // One reading of another patient still waiting: the backup must carry it.
      await outbox.append([reading({ patientId: kept.id, deviceId: 'cuff-k', time: 2_000_000, msgId: 'k0' })]);
      await erasePatient({ db, audit: new AuditLog(db), readings: store, dataDir: data, patientId: erased.id, by: { name: 'cli:op', origin: 'cli' }, settleMs: 0, outboxWaitMs: 0 });
      const target = join(await dir(), 'b');
      await takeBackup({ dataDir: data, target, readingStore: 'sqlite', vigilVersion: 'test' });
      for (const f of await filesOf(target)) {
        expect(f.bytes.includes(NAME), f.path).toBe(false);
        expect(f.bytes.includes(erased.id), f.path).toBe(false);
      }
      const restored = await dir();
      await restoreBackup({ source: target, dataDir: restored, migrations: STATE_MIGRATIONS });
      const waiting: string[] = [];
      await (await Outbox.open({ dir: join(restored, 'outbox') }, (r) => waiting.push(r.msgId!))).close();
      expect(waiting).toEqual(['k0']);
    } finally {
      await outbox.close();
      await store.close();
      db.close();
    }
  });

  it('leaves no partial copy of the data behind when the disk fills during the backup', async () => {
    const fs = await smallTmpfs('backup onto a full disk');
    later(fs.remove);
    if (!fs.mounted) return;
    const data = await dir();
    openState(data).db.close();
    // A reading store larger than the 4 MB of room.
    const readings = openSqlite(join(data, 'readings.db'));
    readings.exec('CREATE TABLE filler (b BLOB)');
    readings.prepare('INSERT INTO filler VALUES (zeroblob(?))').run(6 * 1024 * 1024);
    readings.close();
    const target = join(fs.path, 'b');
    await expect(takeBackup({ dataDir: data, target, readingStore: 'sqlite', vigilVersion: 'test' })).rejects.toThrow(/full|ENOSPC|no space/i);
    expect(await readdir(target)).toEqual([]);
  });
});
