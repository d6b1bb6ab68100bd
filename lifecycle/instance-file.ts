import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../domain/index.js';
import { liveHolderOf, processIdentityText } from './process-identity.js';

/**
 * Written by `vigil start` in its data dir, removed when it stops; a SIGKILL leaves it behind, harmlessly. Its
 * first line is the pid; on Linux, its second the boot id and its third the process's start time (an older Vigil
 * wrote the pid only).
 */
export const INSTANCE_FILE = 'vigil.pid';

/**
 * Marks the data dir as served by this process. SQLite's locks cannot say whether a server runs (the server
 * holds no lock between transactions, and the CLI opens the same database by design), so the pid is written
 * down instead. A dir another live process serves is refused, its file left alone (see refuseServedDataDir).
 */
export function claimInstance(dataDir: string): () => void {
  refuseServedDataDir(dataDir);
  const path = join(dataDir, INSTANCE_FILE);
  writeFileSync(path, processIdentityText(), { mode: 0o600 });
  return () => {
    // Only our own file: a second server on the same dir (a mistake, but possible) may have replaced it.
    if (liveInstancePid(dataDir, -1) === process.pid) rmSync(path, { force: true });
  };
}

/**
 * Throws when another live Vigil process serves the data dir. A second server there would share the first
 * one's outbox and state database, and on its way out remove the first one's pid file, the guard that keeps
 * `vigil restore` from writing under a running server. The composition root asks before it opens anything.
 * Strict about who holds the pid: a file left by a crash must not keep the alarm system from starting again.
 */
export function refuseServedDataDir(dataDir: string): void {
  const pid = liveInstancePid(dataDir, process.pid, 'exact');
  if (pid !== undefined) {
    throw new VigilError('VIGIL_ERR_CONFLICT', `a Vigil (pid ${pid}) already serves ${dataDir}: stop it first, or give this one another data dir (VIGIL_DATA_DIR or --data-dir)`);
  }
}

/** The instance file's text and when it was last written, or undefined when there is none to read. */
function readInstanceFile(path: string): { readonly text: string; readonly writtenAtMs: number } | undefined {
  try {
    return { text: readFileSync(path, 'utf8'), writtenAtMs: statSync(path).mtimeMs };
  } catch {
    return undefined;
  }
}

/**
 * The pid of a Vigil process serving the data dir, or undefined. A file whose process is gone (SIGKILL, a crash)
 * or that was written in another boot does not count; `self` (this process) never does.
 *
 * `cautious` (restore, the CLI): any live process holding the pid counts, so that nothing writes under a server
 * that may be running. A container's Vigil is pid 1 in its own namespace: seen from the host, its file names the
 * host's pid 1, a process with another start time, and must still hold a restore back.
 * `exact` (a start): only a process that started when the file says, and that this user may signal, counts: a
 * pid reused after a crash, or one /proc hides, must not keep Vigil down. A file without a start time (an older
 * Vigil) does not count a process that started after the file was written; where /proc cannot tell (another
 * system), it goes by its pid alone.
 */
export function liveInstancePid(dataDir: string, self: number = process.pid, mode: 'cautious' | 'exact' = 'cautious'): number | undefined {
  const file = readInstanceFile(join(dataDir, INSTANCE_FILE));
  if (file === undefined) return undefined;
  // EPERM: the process exists but belongs to another user: a Vigil for the cautious, not ours to wait for when
  // starting (a data dir is its owner's, mode 0700).
  return liveHolderOf(file.text, file.writtenAtMs, { self, sameStart: mode === 'exact', otherUsers: mode === 'cautious' });
}
