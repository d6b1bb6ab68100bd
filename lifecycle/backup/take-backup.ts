import { copyFile, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
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

/** SQLite's online backup: a consistent snapshot while the server goes on writing (WAL readers never block it). */
async function snapshotSqlite(source: string, target: string): Promise<void> {
  const db = openSqlite(source);
  try {
    db.exec('PRAGMA busy_timeout = 5000');
    // All pages in one step: copied in small steps, a backup restarts whenever the server commits in between,
    // and under steady ingest it might never finish.
    await db.backup(target, { progress: () => 0x7fffffff });
  } finally {
    db.close();
  }
}

/**
 * Copies the outbox: its position first, then every segment from it on, each as long as it is at that moment.
 * A record still being written at the end of the active segment is cut off when the restore opens the outbox
 * (it was not yet acknowledged). A segment that vanished between the listing and the copy was shipped in full
 * meanwhile, which happened before the reading store is copied, so its readings are in that copy.
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
    await copyFile(segmentPath(source, segment), segmentPath(into, segment)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  if (position) await writeCheckpoint(into, position);
  return position;
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
  await writeFile(join(options.target, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600 });
  await fsyncPath(join(options.target, MANIFEST_FILE));
  await fsyncPath(join(options.target, OUTBOX_DIR));
  await fsyncPath(options.target);
  return manifest;
}
