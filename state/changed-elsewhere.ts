import type { StateDb } from './database.js';

/**
 * Whether another connection (the CLI, another process) has committed to the database since the last call:
 * SQLite's `data_version` changes with every such commit and never with this connection's own. Asked at most
 * every `everyMs` (a pragma per call on a hot path would cost more than the caches it guards save), so what
 * another process changes is seen within that time. The first call answers true.
 */
export function changedElsewhere(db: StateDb, everyMs: number): (now?: number) => boolean {
  const version = db.prepare<[], { data_version: number }>('PRAGMA data_version');
  let seen = -1;
  let checkedAt = Number.NEGATIVE_INFINITY;
  return (now = Date.now()) => {
    if (Math.abs(now - checkedAt) < everyMs) return false;
    checkedAt = now;
    const current = version.get()?.data_version ?? 0;
    if (current === seen) return false;
    seen = current;
    return true;
  };
}
