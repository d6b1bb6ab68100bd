import { copyFile, mkdir, readdir, readFile, rename } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { OUTBOX_DIR, READINGS_DB_FILE } from '../../ingest/index.js';
import { fsyncPath, VigilError } from '../../domain/index.js';
import { STATE_DB_FILE, type Migration } from '../../state/index.js';
import { liveInstancePid } from '../instance-file.js';
import { MANIFEST_FILE, manifestSchema, sha256File, type BackupManifest } from './manifest.js';

export interface RestoreOptions {
  readonly source: string;
  readonly dataDir: string;
  /** Every migration this build knows: a backup with one it does not know was made by a newer Vigil. */
  readonly migrations: readonly Migration[];
  /** Move existing data aside (into `replaced-<time>/` in the data dir) instead of refusing. */
  readonly replace?: boolean;
  readonly now?: () => number;
}

export interface RestoreResult {
  readonly manifest: BackupManifest;
  /** Where the data that was in the data dir went (with `replace`). */
  readonly movedAside: string | undefined;
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
  const parsed = manifestSchema.safeParse((() => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  })());
  if (!parsed.success) refuse(`${join(source, MANIFEST_FILE)} is not a backup manifest this Vigil can read (format ${String((JSON.parse(text) as { format?: unknown } | undefined)?.format ?? '?')})`);
  return parsed.data;
}

/** Every file the manifest lists, with its size and SHA-256; nothing else is restored. */
export async function verifyBackup(source: string, manifest: BackupManifest): Promise<void> {
  for (const file of manifest.files) {
    const path = join(source, file.path);
    if (!existsSync(path)) refuse(`backup file ${file.path} is missing`);
    if ((await sha256File(path)) !== file.sha256) refuse(`backup file ${file.path} does not match its checksum: the backup is damaged`);
  }
  if (!manifest.files.some((f) => f.path === STATE_DB_FILE)) refuse(`the backup has no ${STATE_DB_FILE}`);
}

function checkSchema(manifest: BackupManifest, migrations: readonly Migration[]): void {
  const known = new Set(migrations.map((m) => `${m.component}:${m.version}`));
  const unknown = manifest.schema.filter((s) => !known.has(`${s.component}:${s.version}`));
  if (unknown.length > 0) {
    refuse(`the backup was made by a newer Vigil (${manifest.vigilVersion}; schema ${unknown.map((s) => `${s.component} v${s.version}`).join(', ')} unknown here): restore it with that version or a later one`);
  }
}

const RESTORED = [STATE_DB_FILE, READINGS_DB_FILE, OUTBOX_DIR];

/**
 * `vigil restore`: checks, then copies a backup into a data dir. Refuses while a Vigil process serves that
 * dir, when a file is damaged, when the backup comes from a newer schema, and when the dir already holds data
 * (unless `replace`, which moves it aside rather than deleting it). The schema is migrated forward by the
 * caller opening the state database, as every start does.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  const pid = liveInstancePid(options.dataDir);
  if (pid !== undefined) refuse(`a Vigil process (pid ${pid}) is running on ${options.dataDir}: stop it before restoring`, 'VIGIL_ERR_CONFLICT');
  const manifest = await readManifest(options.source);
  await verifyBackup(options.source, manifest);
  checkSchema(manifest, options.migrations);

  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const present = RESTORED.filter((name) => existsSync(join(options.dataDir, name)));
  let movedAside: string | undefined;
  if (present.length > 0) {
    if (!options.replace) refuse(`${options.dataDir} already holds Vigil data (${present.join(', ')}): restore into a new directory, or pass --replace to move it aside`, 'VIGIL_ERR_CONFLICT');
    movedAside = join(options.dataDir, `replaced-${new Date((options.now ?? Date.now)()).toISOString().replace(/[:.]/g, '-')}`);
    await mkdir(movedAside, { mode: 0o700 });
    const siblings = await readdir(options.dataDir);
    for (const name of siblings) {
      if (RESTORED.some((r) => name === r || name.startsWith(`${r}-`))) await rename(join(options.dataDir, name), join(movedAside, name));
    }
  }
  await mkdir(join(options.dataDir, OUTBOX_DIR), { recursive: true, mode: 0o700 });
  for (const file of manifest.files) {
    const to = join(options.dataDir, file.path);
    await mkdir(dirname(to), { recursive: true, mode: 0o700 });
    await copyFile(join(options.source, file.path), to);
    await fsyncPath(to);
  }
  // On disk before Vigil starts on it: a crash right after the restore must not leave half-copied files.
  await fsyncPath(join(options.dataDir, OUTBOX_DIR));
  await fsyncPath(options.dataDir);
  return { manifest, movedAside };
}
