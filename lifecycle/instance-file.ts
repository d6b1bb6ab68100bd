import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VigilError } from '../domain/index.js';

/**
 * Written by `vigil start` in its data dir, removed when it stops; a SIGKILL leaves it behind, harmlessly. Its
 * first line is the pid; on Linux, its second the boot id and its third the process's start time (see
 * processIdentity).
 */
export const INSTANCE_FILE = 'vigil.pid';

/**
 * What tells this process from another that gets its pid later (Linux; undefined elsewhere): the boot id and the
 * process's start time. Now that a live pid refuses a start, not only a restore, a file left by a crash or a
 * power loss must not keep Vigil down because its pid now belongs to another process: a file from another boot,
 * or naming a process that started at another time, names no running Vigil.
 */
function processIdentity(pid: number | 'self'): { boot: string; started: string } | undefined {
  try {
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    // proc(5): the command name (field 2) is in parentheses and may hold spaces; starttime is field 22.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    return boot && started ? { boot, started } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Marks the data dir as served by this process. SQLite's locks cannot say whether a server runs (the server
 * holds no lock between transactions, and the CLI opens the same database by design), so the pid is written
 * down instead. A dir another live process serves is refused, its file left alone (see refuseServedDataDir).
 */
export function claimInstance(dataDir: string): () => void {
  refuseServedDataDir(dataDir);
  const path = join(dataDir, INSTANCE_FILE);
  const self = processIdentity('self');
  writeFileSync(path, `${process.pid}\n${self?.boot ?? ''}\n${self?.started ?? ''}\n`, { mode: 0o600 });
  return () => {
    // Only our own file: a second server on the same dir (a mistake, but possible) may have replaced it.
    if (liveInstancePid(dataDir, -1) === process.pid) rmSync(path, { force: true });
  };
}

/**
 * Throws when another live Vigil process serves the data dir. A second server there would share the first
 * one's outbox and state database, and on its way out remove the first one's pid file, the guard that keeps
 * `vigil restore` from writing under a running server. The composition root asks before it opens anything.
 */
export function refuseServedDataDir(dataDir: string): void {
  const pid = liveInstancePid(dataDir);
  if (pid !== undefined) {
    throw new VigilError('VIGIL_ERR_CONFLICT', `a Vigil (pid ${pid}) already serves ${dataDir}: stop it first, or give this one another data dir (VIGIL_DATA_DIR or --data-dir)`);
  }
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
  const [pidLine = '', boot = '', started = ''] = text.split('\n').map((line) => line.trim());
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || pid === self) return undefined;
  // Written in an earlier boot, or by a process that started at another time than the one holding the pid now:
  // it names no Vigil. A file without them (an older Vigil, another system) goes by its pid alone.
  const now = boot === '' ? undefined : processIdentity(pid);
  if (now !== undefined && (now.boot !== boot || (started !== '' && now.started !== started))) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: the process exists but belongs to another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : undefined;
  }
}
