import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Where Linux says which boot this is, and when each process started (absent elsewhere: the tests that need them skip). */
export const BOOT_ID = '/proc/sys/kernel/random/boot_id';
export const PROC_STAT = '/proc/stat';

/**
 * A process started now, unrelated to Vigil, to hold a pid an old record or file names (a crash left it, the pid
 * was reused). `track` is given its cleanup.
 */
export function unrelatedProcess(track: (cleanup: () => Promise<void>) => void): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  track(async () => void child.kill());
  return child.pid!;
}

/** The start time /proc gives a process (clock ticks since boot), as Vigil's records keep it. */
export function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
}
