import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';

/**
 * The patients of a restored state database that the database it replaced records as erased (`patient.erase`
 * under the HMAC of their id, with that database's key) and no longer holds: erased after the backup was made,
 * and brought back by the restore. Both files are only read. Empty when the replaced database has no erasure key
 * (older than lifecycle migration 1) or was not there.
 */
export function erasedSinceBackup(restoredDbFile: string, replacedDbFile: string): string[] {
  if (!existsSync(replacedDbFile)) return [];
  const replaced = new Database(replacedDbFile, { readonly: true, fileMustExist: true });
  try {
    const hasKey = replaced.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'erasure_key'").get() !== undefined;
    const key = hasKey ? (replaced.prepare('SELECT key FROM erasure_key WHERE id = 1').get() as { key: Buffer } | undefined)?.key : undefined;
    if (!key) return [];
    const erased = new Set((replaced.prepare("SELECT DISTINCT target FROM audit_log WHERE action = 'patient.erase' AND target LIKE 'erased:%'").pluck().all() as string[]).map((t) => t.slice('erased:'.length)));
    const stillThere = new Set(replaced.prepare('SELECT id FROM patients').pluck().all() as string[]);
    const restored = new Database(restoredDbFile, { readonly: true, fileMustExist: true });
    try {
      const ids = restored.prepare('SELECT id FROM patients ORDER BY id').pluck().all() as string[];
      return ids.filter((id) => !stillThere.has(id) && erased.has(createHmac('sha256', key).update(id, 'utf8').digest('hex')));
    } finally {
      restored.close();
    }
  } finally {
    replaced.close();
  }
}
