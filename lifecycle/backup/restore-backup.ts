import { lstat, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OUTBOX_DIR, READINGS_DB_FILE } from '../../ingest/index.js';
import { fsyncPath, VigilError } from '../../domain/index.js';
import { STATE_DB_FILE, type Migration } from '../../state/index.js';
import { liveInstancePid } from '../instance-file.js';
import { isBackupFile, MANIFEST_FILE, manifestSchema, sha256File, type BackupManifest } from './manifest.js';
import { copyVerified } from './verified-copy.js';
import { erasedSinceBackup } from './erased-since.js';
import { lockRestore } from './restore-lock.js';

export interface RestoreOptions {
  readonly source: string;
  readonly dataDir: string;
  /** Every migration this build knows: a backup with one it does not know was made by a newer Vigil. */
  readonly migrations: readonly Migration[];
  /** Move existing data aside (into `replaced-<time>/` in the data dir) instead of refusing. */
  readonly replace?: boolean;
  /**
   * Run once the files are in place, still under the restore lock: the CLI opens the restored state database
   * there (migrating it) and audits the restore, which another restore with --replace must not move aside meanwhile.
   */
  readonly whenRestored?: (result: RestoreResult) => void | Promise<void>;
  readonly now?: () => number;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  /** Where the data that was in the data dir went (with `replace`). */
  readonly movedAside: string | undefined;
  /**
   * Patients the replaced data erased after the backup was made, which the restore brought back: to be erased
   * again (`vigil patients erase`) once Vigil has started and shipped the restored outbox.
   */
  readonly erasedSinceBackup: readonly string[];
}

function refuse(message: string, code: 'VIGIL_ERR_BACKUP_INVALID' | 'VIGIL_ERR_CONFLICT' = 'VIGIL_ERR_BACKUP_INVALID'): never {
  throw new VigilError(code, message);
}

export async function readManifest(source: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(source, MANIFEST_FILE), 'utf8');
  } catch {
    refuse(`${source} holds no ${MANIFEST_FILE}: not a Vigil backup, or a backup that was interrupted`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    refuse(`${join(source, MANIFEST_FILE)} is not JSON (cut short?): not a backup this Vigil can read`);
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) refuse(`${join(source, MANIFEST_FILE)} is not a backup manifest this Vigil can read (format ${String((json as { format?: unknown } | null)?.format ?? '?')})`);
  const foreign = parsed.data.files.find((f) => !isBackupFile(f.path));
  if (foreign) refuse(`${join(source, MANIFEST_FILE)} names ${foreign.path}, which is no part of a Vigil backup`);
  if (new Set(parsed.data.files.map((f) => f.path)).size !== parsed.data.files.length) refuse(`${join(source, MANIFEST_FILE)} names a file twice`);
  if (!parsed.data.files.some((f) => f.path === STATE_DB_FILE)) refuse(`the backup has no ${STATE_DB_FILE}`);
  return parsed.data;
}

/** Every file the manifest lists, with its size and SHA-256 (a check without a restore; the restore checks what it copies). */
export async function verifyBackup(source: string, manifest: BackupManifest): Promise<void> {
  for (const file of manifest.files) {
    const path = join(source, file.path);
    if (!existsSync(path)) refuse(`backup file ${file.path} is missing`);
    if ((await sha256File(path)) !== file.sha256) refuse(`backup file ${file.path} does not match its checksum: the backup is damaged`);
  }
}

function checkSchema(manifest: BackupManifest, migrations: readonly Migration[]): void {
  const known = new Set(migrations.map((m) => `${m.component}:${m.version}`));
  const unknown = manifest.schema.filter((s) => !known.has(`${s.component}:${s.version}`));
  if (unknown.length > 0) {
    refuse(`the backup was made by a newer Vigil (${manifest.vigilVersion}; schema ${unknown.map((s) => `${s.component} v${s.version}`).join(', ')} unknown here): restore it with that version or a later one`);
  }
}

/** Moved into the data dir in this order: the state database last, so that a dir holding it was restored whole. */
const RESTORED = [OUTBOX_DIR, READINGS_DB_FILE, STATE_DB_FILE];

/** Where a restore copies the backup before moving it into place; a name no Vigil file starts with. */
const STAGING_PREFIX = '.restore-';

/**
 * Copies every file of the backup into a new directory inside the data dir (same file system: the files are
 * then moved into place by renaming), checking each one's size and SHA-256 as it is copied. On any failure
 * (a damaged file, a full disk) the directory is removed and the data dir is as it was.
 */
async function stage(source: string, dataDir: string, manifest: BackupManifest): Promise<string> {
  const staging = await mkdtemp(join(dataDir, STAGING_PREFIX));
  try {
    await mkdir(join(staging, OUTBOX_DIR), { mode: 0o700 });
    // Its files are opened without following a link; the directory holding them must not be one either.
    const outbox = await lstat(join(source, OUTBOX_DIR)).catch(() => undefined);
    if (outbox?.isSymbolicLink()) refuse(`${OUTBOX_DIR}/ in the backup is a symbolic link, not a directory of a backup`);
    for (const file of manifest.files) await copyVerified(join(source, file.path), join(staging, file.path), file);
    await fsyncPath(join(staging, OUTBOX_DIR));
    await fsyncPath(staging);
    return staging;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    throw err;
  }
}

/**
 * What an earlier restore stopped midway (killed, power lost) left: copies, never moved into place. Only under
 * the restore lock: no other restore's copy can be in the making.
 */
async function removeStaleStaging(dataDir: string): Promise<void> {
  for (const name of await readdir(dataDir)) {
    if (name.startsWith(STAGING_PREFIX)) await rm(join(dataDir, name), { recursive: true, force: true });
  }
}

/**
 * `vigil restore`: checks, then copies a backup into a data dir. Refuses while a Vigil process serves that
 * dir or another restore writes into it, when a file is damaged or is not a plain file of a backup, when the
 * backup comes from a newer schema, and when the dir already holds data (unless `replace`, which moves it aside rather than deleting it). The
 * backup is copied and checked beside the data first and moved into place only once whole, so a failure
 * midway leaves the data dir as it was. The schema is migrated forward by the caller opening the state
 * database, as every start does.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const refuseRunning = () => {
    const pid = liveInstancePid(options.dataDir);
    if (pid !== undefined) refuse(`a Vigil process (pid ${pid}) is running on ${options.dataDir}: stop it before restoring`, 'VIGIL_ERR_CONFLICT');
  };
  refuseRunning();
  const manifest = await readManifest(options.source);
  checkSchema(manifest, options.migrations);
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  // One restore at a time: another would take this one's staging copy for a killed restore's and remove it.
  const unlock = await lockRestore(options.dataDir);
  try {
    const result = await restoreLocked(options, manifest, refuseRunning);
    await options.whenRestored?.(result);
    return result;
  } finally {
    await unlock();
  }
}

/** The restore proper, under the data dir's restore lock. */
async function restoreLocked(options: RestoreOptions, manifest: BackupManifest, refuseRunning: () => void): Promise<RestoreResult> {
  // A database's companions count as its data: a write-ahead log left without its database (deleted by hand)
  // would be applied by SQLite to the restored one.
  const isData = (name: string) => RESTORED.some((r) => name === r || name.startsWith(`${r}-`));
  const present = (await readdir(options.dataDir)).filter(isData).sort();
  if (present.length > 0 && !options.replace) {
    refuse(`${options.dataDir} already holds Vigil data (${present.join(', ')}): restore into a new directory, or pass --replace to move it aside`, 'VIGIL_ERR_CONFLICT');
  }
  await removeStaleStaging(options.dataDir);
  const staging = await stage(options.source, options.dataDir, manifest);
  try {
    // A Vigil started on the dir while the files were copied would be writing under the restore.
    refuseRunning();
    let movedAside: string | undefined;
    if (present.length > 0) {
      movedAside = join(options.dataDir, `replaced-${new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-')}`);
      await mkdir(movedAside, { mode: 0o700 });
      for (const name of await readdir(options.dataDir)) {
        if (isData(name)) await rename(join(options.dataDir, name), join(movedAside, name));
      }
    }
    for (const name of RESTORED) {
      if (existsSync(join(staging, name))) await rename(join(staging, name), join(options.dataDir, name));
    }
    // On disk before Vigil starts on it: a crash right after the restore must not lose the renames.
    await fsyncPath(options.dataDir);
    const erased = movedAside === undefined ? [] : erasedSinceBackup(join(options.dataDir, STATE_DB_FILE), join(movedAside, STATE_DB_FILE));
    return { manifest, movedAside, erasedSinceBackup: erased };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
