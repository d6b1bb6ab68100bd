import { chmod, mkdir, open, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { listSegments, OUTBOX_DIR, readCheckpoint, READINGS_DB_FILE, segmentPath, writeCheckpoint, type Position } from '../../ingest/index.js';
import { fsyncPath, VigilError } from '../../domain/index.js';
import { openSqlite, STATE_DB_FILE } from '../../state/index.js';
import { BACKUP_FORMAT, MANIFEST_FILE, sha256File, type BackupManifest } from './manifest.js';

export interface BackupOptions {
  readonly dataDir: string;
  /** An empty or new directory. */
  readonly target: string;
  readonly readingStore: 'sqlite' | 'influxdb';
  readonly vigilVersion: string;
  readonly now?: () => number;
}

/**
 * A consistent, compacted copy of a SQLite database while the server goes on writing: `VACUUM INTO` reads one
 * snapshot (a WAL reader never blocks the writer, and one read transaction never restarts under steady
 * ingest) and writes only live rows. A page copy would also carry the free pages, where rows deleted by an
 * erasure or a retention run are still legible. The file is made 0600 before SQLite writes into it.
 */
async function snapshotSqlite(source: string, target: string): Promise<void> {
  await (await open(target, 'wx', 0o600)).close();
  const db = openSqlite(source);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    db.prepare('VACUUM INTO ?').run(target);
  } finally {
    db.close();
  }
}

/** Copies `from` into a new file (0600: it holds health data), starting at byte `start`. */
async function copyFrom(from: string, to: string, start: number): Promise<void> {
  const source = await open(from, 'r');
  try {
    const target = await open(to, 'wx', 0o600);
    try {
      const buffer = Buffer.alloc(1024 * 1024);
      for (let at = start; ; ) {
        const { bytesRead } = await source.read(buffer, 0, buffer.length, at);
        if (bytesRead === 0) break;
        await target.write(buffer, 0, bytesRead);
        at += bytesRead;
      }
    } finally {
      await target.close();
    }
  } finally {
    await source.close();
  }
}

/**
 * Copies the outbox: its position first, then every segment from it on, each as long as it is at that moment.
 * A record still being written at the end of the active segment is cut off when the restore opens the outbox
 * (it was not yet acknowledged). A segment that vanished between the listing and the copy was shipped in full
 * meanwhile, which happened before the reading store is copied, so its readings are in that copy. The segment
 * holding the position is copied from the position on, which becomes offset 0 of the copy: what precedes it
 * was stored already (and may be readings of a patient erased since).
 */
async function copyOutbox(dataDir: string, target: string): Promise<Position | null> {
  const source = join(dataDir, OUTBOX_DIR);
  const into = join(target, OUTBOX_DIR);
  await mkdir(into, { recursive: true, mode: 0o700 });
  if (!existsSync(source)) return null;
  const checkpoint = await readCheckpoint(source);
  const position = checkpoint === undefined || checkpoint === 'damaged' ? null : checkpoint;
  for (const segment of await listSegments(source)) {
    if (position && segment < position.segment) continue;
    const start = position && segment === position.segment ? position.offset : 0;
    await copyFrom(segmentPath(source, segment), segmentPath(into, segment), start).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  if (!position) return null;
  const copied = { segment: position.segment, offset: 0 };
  await writeCheckpoint(into, copied);
  await chmod(join(into, 'checkpoint.json'), 0o600);
  return copied;
}

async function filesUnder(root: string, dir = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(join(root, dir), { withFileTypes: true })) {
    const rel = dir ? `${dir}/${entry.name}` : entry.name;
    if (entry.isDirectory()) out.push(...(await filesUnder(root, rel)));
    else if (entry.isFile() && rel !== MANIFEST_FILE) out.push(rel);
  }
  return out.sort();
}

/**
 * `vigil backup`: a consistent copy of a running instance's data dir.
 *
 * The order is what makes the guarantee hold: the outbox (its position and the segments after it) is copied
 * before the reading store. A reading acknowledged before the backup started is then either past the copied
 * position (in the outbox copy) or was stored before that position was read, so before the reading store was
 * copied. Readings in both are written again when the restored instance ships its outbox: the stores
 * overwrite a point with the same identity, so they are stored once. The manifest is written last: a
 * directory without one is an interrupted backup.
 */
export async function takeBackup(options: BackupOptions): Promise<BackupManifest> {
  const now = options.now ?? Date.now;
  if (!existsSync(join(options.dataDir, STATE_DB_FILE))) {
    throw new VigilError('VIGIL_ERR_CONFIG', `no Vigil data in ${options.dataDir} (${STATE_DB_FILE} not found): check --data-dir or VIGIL_DATA_DIR`);
  }
  await mkdir(options.target, { recursive: true, mode: 0o700 });
  if ((await readdir(options.target)).length > 0) {
    throw new VigilError('VIGIL_ERR_CONFIG', `${options.target} is not empty: back up into a new or empty directory`);
  }
  // Also a directory made beforehand (mkdir's 0755): the backup holds health data.
  await chmod(options.target, 0o700);
  try {
    return await writeBackup(options, now);
  } catch (err) {
    // A backup that cannot finish (a full disk) is no backup: its partial copy of health data goes.
    for (const name of await readdir(options.target)) await rm(join(options.target, name), { recursive: true, force: true });
    throw err;
  }
}

async function writeBackup(options: BackupOptions, now: () => number): Promise<BackupManifest> {
  const startedAt = now();
  const outboxCheckpoint = await copyOutbox(options.dataDir, options.target);
  await snapshotSqlite(join(options.dataDir, STATE_DB_FILE), join(options.target, STATE_DB_FILE));
  const readings = join(options.dataDir, READINGS_DB_FILE);
  if (options.readingStore === 'sqlite' && existsSync(readings)) await snapshotSqlite(readings, join(options.target, READINGS_DB_FILE));
  const copy = openSqlite(join(options.target, STATE_DB_FILE));
  const schema = copy.prepare<[], { component: string; version: number }>('SELECT component, version FROM schema_migrations ORDER BY component, version').all();
  copy.close();
  const files = [];
  for (const path of await filesUnder(options.target)) {
    const full = join(options.target, path);
    await fsyncPath(full);
    files.push({ path, bytes: (await stat(full)).size, sha256: await sha256File(full) });
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    vigilVersion: options.vigilVersion,
    startedAt,
    finishedAt: now(),
    readingStore: options.readingStore,
    schema,
    outboxCheckpoint,
    files,
  };
  // Written beside and renamed: a manifest.json present is a whole one, whenever the backup stopped.
  const tmp = join(options.target, `${MANIFEST_FILE}.tmp`);
  await writeFile(tmp, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await fsyncPath(tmp);
  await rename(tmp, join(options.target, MANIFEST_FILE));
  await fsyncPath(join(options.target, OUTBOX_DIR));
  await fsyncPath(options.target);
  return manifest;
}
