import Database from 'better-sqlite3';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';

/**
 * The patients of a restored state database that the database it replaced records an erasure of (`patient.erase`
 * under the HMAC of their id, with that database's key): erased after the backup was made and brought back by
 * the restore, or whose erasure was started and stopped before it deleted them (a crash, a kill: the replaced
 * database still holds them, and the restored audit log has no record of the erasure to finish). A patient the
 * replaced database holds counts only if the erasure came after their registry entry was made there: an id
 * erased, then given to a new patient, is not that patient's erasure. Both files are only read. Empty when the
 * replaced database has no erasure key (older than lifecycle migration 1) or was not there.
 */
export function erasedSinceBackup(restoredDbFile: string, replacedDbFile: string): string[] {
  if (!existsSync(replacedDbFile)) return [];
  const replaced = new Database(replacedDbFile, { readonly: true, fileMustExist: true });
  try {
    const hasKey = replaced.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'erasure_key'").get() !== undefined;
    const key = hasKey ? (replaced.prepare('SELECT key FROM erasure_key WHERE id = 1').get() as { key: Buffer } | undefined)?.key : undefined;
    if (!key) return [];
    // The latest erasure entry of each pseudonym: started, finished, or finished on another instance (replicated).
    const erasedAt = new Map(
      (replaced.prepare("SELECT target, max(at) AS at FROM audit_log WHERE action = 'patient.erase' AND target LIKE 'erased:%' GROUP BY target").all() as { target: string; at: number }[]).map((r) => [r.target.slice('erased:'.length), r.at]),
    );
    const createdAt = new Map((replaced.prepare('SELECT id, created_at FROM patients').all() as { id: string; created_at: number }[]).map((p) => [p.id, p.created_at]));
    const restored = new Database(restoredDbFile, { readonly: true, fileMustExist: true });
    try {
      const ids = restored.prepare('SELECT id FROM patients ORDER BY id').pluck().all() as string[];
      return ids.filter((id) => {
        const at = erasedAt.get(createHmac('sha256', key).update(id, 'utf8').digest('hex'));
        if (at === undefined) return false;
        const created = createdAt.get(id);
        return created === undefined || at >= created;
      });
    } finally {
      restored.close();
    }
  } finally {
    replaced.close();
  }
}
