import { chmod, cp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openState, STATE_MIGRATIONS } from '../../app/state.js';
import { Outbox } from '../../ingest/outbox/outbox.js';
import { openSqlite } from '../../state/index.js';
import { reading } from '../../test/support/readings.js';
import { smallTmpfs } from '../../test/support/fill-disk.js';
import { cleanedAfterEachTest } from '../../test/support/temp-dirs.js';
import { MANIFEST_FILE, type BackupManifest } from './manifest.js';
import { restoreBackup } from './restore-backup.js';
import { takeBackup } from './take-backup.js';

/** What a restore leaves or refuses: a backup that is not what its manifest says, and a disk that fills midway. */
describe('a restore that cannot finish', () => {
  const { dir, later } = cleanedAfterEachTest();

  /** A backup of a data dir with readings waiting in the outbox and a reading store of `readingBytes`. */
  async function backup(readingBytes = 0): Promise<string> {
    const path = await dir();
    openState(path).db.close();
    const outbox = await Outbox.open({ dir: join(path, 'outbox') });
    await outbox.append(Array.from({ length: 20 }, (_, i) => reading({ time: 1_000_000 + i, msgId: `m${i}` })));
    await outbox.close();
    const readings = openSqlite(join(path, 'readings.db'));
    readings.exec('CREATE TABLE filler (b BLOB)');
    readings.prepare('INSERT INTO filler VALUES (zeroblob(?))').run(readingBytes);
    readings.close();
    const target = join(await dir(), 'b');
    await takeBackup({ dataDir: path, target, readingStore: 'sqlite', vigilVersion: 'test' });
    return target;
  }

  const manifestOf = async (b: string) => JSON.parse(await readFile(join(b, MANIFEST_FILE), 'utf8')) as BackupManifest;
  const restore = (source: string, dataDir: string, replace = false) => restoreBackup({ source, dataDir, migrations: STATE_MIGRATIONS, replace });

  it('leaves a new data dir without Vigil data when the disk fills during the copy', async () => {
    const fs = await smallTmpfs('restore onto a full disk');
    later(fs.remove);
    if (!fs.mounted) return;
    // 4 MB of room: the outbox fits, the reading store does not.
    const source = await backup(6 * 1024 * 1024);
    const dataDir = join(fs.path, 'data');
    await expect(restore(source, dataDir)).rejects.toThrow(/ENOSPC|no space/i);
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('keeps the data already there in place with --replace when the disk fills during the copy', async () => {
    const fs = await smallTmpfs('restore --replace onto a full disk');
    later(fs.remove);
    if (!fs.mounted) return;
    const source = await backup(6 * 1024 * 1024);
    const dataDir = join(fs.path, 'data');
    openState(dataDir).db.close();
    const before = (await readdir(dataDir)).sort();
    await expect(restore(source, dataDir, true)).rejects.toThrow(/ENOSPC|no space/i);
    expect((await readdir(dataDir)).sort()).toEqual(before);
  });

  it("refuses a data dir holding another database's write-ahead log (SQLite would apply it to the restored one)", async () => {
    const source = await backup();
    const other = await dir();
    const { db, registry } = openState(other);
    await registry.addPatient({ name: 'Stale Log' });
    const dataDir = await dir();
    await cp(join(other, 'vigil.db-wal'), join(dataDir, 'vigil.db-wal'));
    db.close();
    await expect(restore(source, dataDir)).rejects.toMatchObject({ code: 'VIGIL_ERR_CONFLICT', message: expect.stringMatching(/vigil\.db-wal/) });
    // With --replace it is moved aside with the rest, and the restored database is the backup's.
    await restore(source, dataDir, true);
    const restored = openState(dataDir);
    expect(restored.db.prepare('SELECT count(*) AS n FROM patients').get()).toEqual({ n: 0 });
    restored.db.close();
  });

  it('refuses a manifest naming a file that is no part of a backup (vigil.pid would keep Vigil from starting)', async () => {
    const source = await backup();
    await writeFile(join(source, 'vigil.pid'), '1\n');
    const manifest = await manifestOf(source);
    manifest.files.push({ path: 'vigil.pid', bytes: 2, sha256: createHash('sha256').update('1\n').digest('hex') });
    await writeFile(join(source, MANIFEST_FILE), JSON.stringify(manifest));
    const dataDir = await dir();
    await expect(restore(source, dataDir)).rejects.toMatchObject({ code: 'VIGIL_ERR_BACKUP_INVALID', message: expect.stringMatching(/vigil\.pid/) });
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a backup whose files are symbolic links (what is restored is what was checked)', async () => {
    const source = await backup();
    const elsewhere = await dir();
    await cp(join(source, 'readings.db'), join(elsewhere, 'readings.db'));
    await rm(join(source, 'readings.db'));
    await symlink(join(elsewhere, 'readings.db'), join(source, 'readings.db'));
    const dataDir = await dir();
    await expect(restore(source, dataDir)).rejects.toMatchObject({ code: 'VIGIL_ERR_BACKUP_INVALID', message: expect.stringMatching(/readings\.db/) });
    expect(await readdir(dataDir)).toEqual([]);
  });

  it('refuses a manifest cut short (a copy that stopped midway) as an invalid backup', async () => {
    const source = await backup();
    const text = await readFile(join(source, MANIFEST_FILE), 'utf8');
    await writeFile(join(source, MANIFEST_FILE), text.slice(0, text.length / 2));
    await expect(restore(source, await dir())).rejects.toMatchObject({ code: 'VIGIL_ERR_BACKUP_INVALID' });
  });

  it('refuses a second restore into the same data dir while one runs, and leaves the first one whole', async () => {
    const source = await backup(2 * 1024 * 1024);
    const dataDir = await dir();
    // Both at once: without a lock, each removed the other's staging copy as left behind by a killed restore.
    const results = await Promise.allSettled([restore(source, dataDir, true), restore(source, dataDir, true)]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected')!.reason as { code?: string; message: string };
    expect(refused).toMatchObject({ code: 'VIGIL_ERR_CONFLICT', message: expect.stringMatching(/another vigil restore \(pid \d+\)/) });
    expect((await readdir(dataDir)).filter((n) => n.startsWith('.restore'))).toEqual([]);
    const restored = openState(dataDir);
    expect(restored.db.prepare('SELECT count(*) AS n FROM patients').get()).toEqual({ n: 0 });
    restored.db.close();
    // Its lock gone with it: a later restore goes ahead.
    await restore(source, dataDir, true);
  });

  it('keeps the lock while the restored database is opened and audited (whenRestored), so no restore moves it aside meanwhile', async () => {
    const source = await backup();
    const dataDir = await dir();
    let second: Promise<unknown> | undefined;
    await restoreBackup({
      source,
      dataDir,
      migrations: STATE_MIGRATIONS,
      whenRestored: async () => {
        second = restore(source, dataDir, true);
        await second.catch(() => undefined);
      },
    });
    await expect(second).rejects.toMatchObject({ code: 'VIGIL_ERR_CONFLICT' });
    expect(await readdir(dataDir)).not.toContain('.restore.lock');
  });

  it('takes over the lock a killed restore left behind', async () => {
    const source = await backup();
    const dataDir = await dir();
    // A process that has exited: its pid names no restore.
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await writeFile(join(dataDir, '.restore.lock'), `${gone}\n\n\n`);
    await restore(source, dataDir);
    expect(await readdir(dataDir)).not.toContain('.restore.lock');
  });

  it('restores files that only their owner can read, whatever their mode in the backup', async () => {
    const source = await backup();
    for (const f of (await manifestOf(source)).files) await chmod(join(source, f.path), 0o644);
    const dataDir = await dir();
    await restore(source, dataDir);
    for (const f of (await manifestOf(source)).files) expect(((await stat(join(dataDir, f.path))).mode & 0o777).toString(8), f.path).toBe('600');
    expect(((await stat(join(dataDir, 'outbox'))).mode & 0o777).toString(8)).toBe('700');
  });
});
