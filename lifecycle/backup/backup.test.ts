import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openState, STATE_MIGRATIONS } from '../../app/state.js';
import { openStateDb } from '../../state/index.js';
import { Outbox } from '../../ingest/outbox/outbox.js';
import { SqliteStore } from '../../ingest/index.js';
import { reading } from '../../test/support/readings.js';
import { tempDir } from '../../test/support/temp.js';
import { claimInstance, INSTANCE_FILE } from '../instance-file.js';
import { MANIFEST_FILE } from './manifest.js';
import { restoreBackup } from './restore-backup.js';
import { takeBackup } from './take-backup.js';

describe('backup and restore of a data dir', () => {
  let dirs: Awaited<ReturnType<typeof tempDir>>[];
  const dir = async () => {
    const d = await tempDir();
    dirs.push(d);
    return d.path;
  };
  beforeEach(() => {
    dirs = [];
  });
  afterEach(async () => {
    for (const d of dirs) await d.remove();
  });

  const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => reading({ time: 1_000_000 + from + i, msgId: `m${from + i}` }));

  /** A data dir whose first 6 readings were shipped to the embedded store and whose last 4 wait in the outbox. */
  async function dataDir(migrations = STATE_MIGRATIONS): Promise<string> {
    const path = await dir();
    openStateDb(path, migrations).close();
    const outbox = await Outbox.open({ dir: join(path, 'outbox') });
    await outbox.append(many(10));
    const batch = await outbox.read(outbox.checkpoint, 6);
    const store = new SqliteStore(path);
    await store.write(batch.records);
    await store.close();
    await outbox.ack(batch.next, batch.records.length);
    await outbox.close();
    return path;
  }

  const backupOf = async (path: string) => {
    const target = join(await dir(), 'b');
    const manifest = await takeBackup({ dataDir: path, target, readingStore: 'sqlite', vigilVersion: 'test' });
    return { target, manifest };
  };

  it('carries the stored readings and the outbox after its position, and restores both', async () => {
    const { target, manifest } = await backupOf(await dataDir());
    expect(manifest.outboxCheckpoint).not.toBeNull();
    expect(manifest.files.map((f) => f.path)).toEqual(expect.arrayContaining(['vigil.db', 'readings.db', 'outbox/checkpoint.json']));
    expect(manifest.schema).toContainEqual({ component: 'lifecycle', version: 1 });

    const restored = await dir();
    await restoreBackup({ source: target, dataDir: restored, migrations: STATE_MIGRATIONS });
    const store = new SqliteStore(restored);
    expect((await store.queryRaw({ patientId: 'pat-1', type: 'blood_pressure', from: 0, to: 2_000_000 })).length).toBe(6);
    await store.close();
    const unshipped: string[] = [];
    const outbox = await Outbox.open({ dir: join(restored, 'outbox') }, (r) => unshipped.push(r.msgId!));
    await outbox.close();
    expect(unshipped).toEqual(['m6', 'm7', 'm8', 'm9']);
  });

  it('loses no reading while a shipper stores, acknowledges and deletes segments during the backup', async () => {
    const path = await dir();
    openState(path).db.close();
    // Small segments: shipping deletes whole segments while the backup lists and copies them.
    const outbox = await Outbox.open({ dir: join(path, 'outbox'), segmentBytes: 8 * 1024 });
    const all = many(3000);
    await outbox.append(all);
    const store = new SqliteStore(path);
    let shipping = true;
    const shipper = (async () => {
      while (shipping) {
        const batch = await outbox.read(outbox.checkpoint, 5);
        if (batch.records.length === 0) break;
        await store.write(batch.records);
        await outbox.ack(batch.next, batch.records.length);
      }
    })();
    const { target } = await backupOf(path);
    shipping = false;
    await shipper;
    await store.close();
    await outbox.close();
    expect(outbox.depth).toBeGreaterThan(0);

    const restored = await dir();
    await restoreBackup({ source: target, dataDir: restored, migrations: STATE_MIGRATIONS });
    const found = new Set<string>();
    const restoredStore = new SqliteStore(restored);
    for (const p of await restoredStore.queryRaw({ patientId: 'pat-1', type: 'blood_pressure', from: 0, to: 2_000_000 })) found.add(String(p.time));
    await restoredStore.close();
    const reopened = await Outbox.open({ dir: join(restored, 'outbox') }, (r) => found.add(String(r.time)));
    await reopened.close();
    expect(all.filter((r) => !found.has(String(r.time))).length).toBe(0);
  });

  it('refuses a damaged file, a newer schema, a data dir with data and a running instance', async () => {
    const source = await dataDir();
    const { target } = await backupOf(source);

    await expect(restoreBackup({ source: target, dataDir: source, migrations: STATE_MIGRATIONS })).rejects.toThrow(/already holds Vigil data/);

    claimInstance(source);
    await writeFile(join(source, INSTANCE_FILE), `${process.ppid}\n`);
    await expect(restoreBackup({ source: target, dataDir: source, migrations: STATE_MIGRATIONS, replace: true })).rejects.toThrow(/is running on/);

    const older = STATE_MIGRATIONS.filter((m) => m.component !== 'lifecycle');
    await expect(restoreBackup({ source: target, dataDir: await dir(), migrations: older })).rejects.toThrow(/newer Vigil/);

    const segment = (JSON.parse(await readFile(join(target, MANIFEST_FILE), 'utf8')) as { files: { path: string }[] }).files.find((f) => f.path.endsWith('.log'))!;
    const bytes = await readFile(join(target, segment.path));
    bytes[5] = bytes[5]! ^ 1;
    await writeFile(join(target, segment.path), bytes);
    await expect(restoreBackup({ source: target, dataDir: await dir(), migrations: STATE_MIGRATIONS })).rejects.toThrow(/does not match its checksum/);
  });

  it('moves the data already there aside with --replace, and migrates an older backup forward', async () => {
    // A backup made before the lifecycle migration existed.
    const source = await dataDir(STATE_MIGRATIONS.filter((m) => m.component !== 'lifecycle'));
    const { target, manifest } = await backupOf(source);
    expect(manifest.schema.some((s) => s.component === 'lifecycle')).toBe(false);
    const result = await restoreBackup({ source: target, dataDir: source, migrations: STATE_MIGRATIONS, replace: true });
    expect(result.movedAside).toBeDefined();
    expect(await readFile(join(result.movedAside!, 'vigil.db'))).toBeTruthy();
    // Opening the restored database is what every start does: migrations the backup lacks apply then.
    const { db } = openState(source);
    expect(db.prepare("SELECT count(*) AS n FROM schema_migrations WHERE component = 'lifecycle'").get()).toEqual({ n: 1 });
    db.close();
  });
});
