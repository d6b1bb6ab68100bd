import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Written by `vigil start` in its data dir, removed when it stops; a SIGKILL leaves it behind, harmlessly. */
export const INSTANCE_FILE = 'vigil.pid';

/**
 * Marks the data dir as served by this process. SQLite's locks cannot say whether a server runs (the server
 * holds no lock between transactions, and the CLI opens the same database by design), so the pid is written
 * down instead.
 */
export function claimInstance(dataDir: string): () => void {
  const path = join(dataDir, INSTANCE_FILE);
  writeFileSync(path, `${process.pid}\n`, { mode: 0o600 });
  return () => {
    // Only our own file: a second server on the same dir (a mistake, but possible) may have replaced it.
    if (liveInstancePid(dataDir, -1) === process.pid) rmSync(path, { force: true });
  };
}

/**
 * The pid of a Vigil process serving the data dir, or undefined. A file whose process is gone (SIGKILL, a
 * crash) does not count; `self` (this process) never does.
 */
export function liveInstancePid(dataDir: string, self: number = process.pid): number | undefined {
  let text: string;
  try {
    text = readFileSync(join(dataDir, INSTANCE_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0 || pid === self) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}
