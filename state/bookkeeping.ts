import type { StateDb } from './database.js';

/**
 * Runs `write` in a transaction whose commit SQLite does not fsync (`synchronous = NORMAL` for that commit; the
 * state database is FULL otherwise). For bookkeeping the server rewrites every few seconds and may lose on a power
 * cut without harm: last-seen times, online status, the worklist's latest readings, the sweep's last-reading
 * times, the webhook cursor (a receiver already sees a transition again after a crash and dedupes by `seq`).
 *
 * In WAL mode such a commit is atomic and survives the process being killed, since the WAL is in the page cache;
 * only a power cut or kernel crash can lose it, until the next FULL commit or a checkpoint syncs the WAL. Why:
 * each of these writes was an fsync on the broker's thread every 100 ms to a few seconds, 2 to 40 ms each on a
 * busy disk here, and every PUBACK waited behind it. Alert changes, provisioning and audit stay FULL.
 */
export function bookkeeping<T>(db: StateDb, write: () => T): T {
  // Inside a caller's transaction the pragma cannot apply to one commit: the caller's transaction decides.
  if (db.inTransaction) return write();
  const previous = db.pragma('synchronous', { simple: true }) as number;
  db.pragma('synchronous = NORMAL');
  try {
    // IMMEDIATE: takes the write lock at BEGIN, so a CLI writing at the same moment makes this wait, not fail.
    return db.transaction(write).immediate();
  } finally {
    db.pragma(`synchronous = ${previous}`);
  }
}
