import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { OUTBOX_DIR, READINGS_DB_FILE } from '../../ingest/index.js';
import { STATE_DB_FILE } from '../../state/index.js';

export const MANIFEST_FILE = 'manifest.json';
/** The layout of a backup directory; a restore refuses a format it does not know. */
export const BACKUP_FORMAT = 1;

const position = z.object({ segment: z.number().int().min(0), offset: z.number().int().min(0) });

export const manifestSchema = z.object({
  format: z.literal(BACKUP_FORMAT),
  vigilVersion: z.string(),
  /** When the backup started (epoch ms): every reading acknowledged before it is in the backup. */
  startedAt: z.number().int(),
  finishedAt: z.number().int(),
  readingStore: z.enum(['sqlite', 'influxdb']),
  /** Each component's applied migrations in the state database copy. */
  schema: z.array(z.object({ component: z.string(), version: z.number().int() })),
  /** Where the outbox copy starts shipping from (absent: from its oldest segment). */
  outboxCheckpoint: position.nullable(),
  files: z.array(z.object({ path: z.string().regex(/^[\w./-]+$/).refine((p) => !p.split('/').includes('..')), bytes: z.number().int().min(0), sha256: z.string().regex(/^[0-9a-f]{64}$/) })),
});

export type BackupManifest = z.output<typeof manifestSchema>;

const FIXED_FILES = new Set([STATE_DB_FILE, READINGS_DB_FILE, `${OUTBOX_DIR}/checkpoint.json`]);
const SEGMENT_FILE = new RegExp(`^${OUTBOX_DIR}/\\d{16}\\.log$`);

/**
 * Whether a manifest's path names a file a backup holds: the state database, the reading store, the outbox's
 * checkpoint and segments. A restore writes nothing else into a data dir (a `vigil.pid` there, say, would keep
 * Vigil from starting).
 */
export function isBackupFile(path: string): boolean {
  return FIXED_FILES.has(path) || SEGMENT_FILE.test(path);
}

/** SHA-256 of a file, streamed (a reading store can be gigabytes). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
