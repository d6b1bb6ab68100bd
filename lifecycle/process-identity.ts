import { readFileSync } from 'node:fs';

/** This boot's id (Linux), undefined elsewhere: a file written in another boot names no running process. */
export function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** Whether a file that recorded `boot` (empty: it did not) was written in another boot than this one. */
export function writtenInAnotherBoot(boot: string): boolean {
  const current = bootId();
  return boot !== '' && current !== undefined && boot !== current;
}

/**
 * When a process started, in clock ticks since boot (proc(5) stat field 22; Linux), undefined where /proc does
 * not say (another system, `hidepid`). With the boot id it tells a Vigil from a process that got its pid later.
 */
export function processStartTime(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every architecture Node runs on (it is part of the
 * kernel's interface to user space, whatever the kernel's own tick rate).
 */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * How much later than its file a process must have started before the file is taken for stale. A Vigil writes
 * its file after it started, so on a steady clock any later start would do; a wall clock stepped forward since
 * the file was written (NTP correcting a drifting clock at boot) makes every process look that much younger,
 * and a live Vigil must not look younger than its own file.
 */
const CLOCK_STEP_ALLOWANCE_MS = 60_000;

/** When this boot began, in ms since the epoch, from /proc/stat's `btime` (Linux); undefined elsewhere. */
function bootTimeMs(): number | undefined {
  try {
    const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
    return btime === undefined ? undefined : Number(btime) * 1000;
  } catch {
    return undefined;
  }
}

/** When a process started, in ms since the epoch (Linux), undefined where /proc does not say. */
function startedAtMs(pid: number): number | undefined {
  const ticks = processStartTime(pid);
  const boot = bootTimeMs();
  if (ticks === undefined || boot === undefined) return undefined;
  return boot + (Number(ticks) * 1000) / CLOCK_TICKS_PER_SECOND;
}

/**
 * Whether the process now holding `pid` is provably not the one that wrote the file. A file with a start time
 * (`started`, as processStartTime gave it) must match it exactly. One without (written by an older Vigil, or
 * where /proc/self/stat could not be read) still cannot have been written by a process that started after it
 * was written (`writtenAtMs`): after a crash its pid, taken by some later process, would otherwise pass for a
 * running Vigil until someone deleted the file. False whenever /proc does not say, so that the pid alone decides.
 * Both files that name a running Vigil by its pid ask it, each recording the boot id and its start time beside
 * the pid: the data dir's vigil.pid (instance-file.ts) and the CLI's .vigil-instance.json (cli/instance-file.ts).
 */
export function pidTakenSinceWritten(pid: number, started: string, writtenAtMs: number): boolean {
  if (started !== '') {
    const now = processStartTime(pid);
    return now !== undefined && now !== started;
  }
  const startedAt = startedAtMs(pid);
  return startedAt !== undefined && startedAt > writtenAtMs + CLOCK_STEP_ALLOWANCE_MS;
}

/** The lines a file naming this process starts with: its pid, the boot id and its start time (Linux). */
export function processIdentityText(): string {
  return `${process.pid}\n${bootId() ?? ''}\n${processStartTime('self') ?? ''}\n`;
}

/** How a process named by such a file counts as its holder. */
export interface HolderPolicy {
  /** A pid never counted (this process). */
  readonly self?: number;
  /** Only the process that started when the file says (pidTakenSinceWritten): a pid reused after a crash does not. */
  readonly sameStart: boolean;
  /** A live process this user may not signal (EPERM) counts. */
  readonly otherUsers: boolean;
}

/**
 * The live process a file of processIdentityText names, or undefined when it is gone: killed, written in
 * another boot, or (by the policy) a pid reused since, or another user's.
 */
export function liveHolderOf(text: string, writtenAtMs: number, policy: HolderPolicy): number | undefined {
  const [pidLine = '', boot = '', started = ''] = text.split('\n').map((line) => line.trim());
  const pid = Number(pidLine);
  if (!Number.isInteger(pid) || pid <= 0 || pid === policy.self) return undefined;
  if (writtenInAnotherBoot(boot)) return undefined;
  if (policy.sameStart && pidTakenSinceWritten(pid, started, writtenAtMs)) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' && policy.otherUsers ? pid : undefined;
  }
}
