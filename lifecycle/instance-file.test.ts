import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOT_ID, PROC_STAT, unrelatedProcess as holdingProcess } from '../test/support/processes.js';
import { tempDir } from '../test/support/temp.js';
import { claimInstance, INSTANCE_FILE, liveInstancePid } from './instance-file.js';


describe('the vigil.pid instance file', () => {
  const removals: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const remove of removals.splice(0)) await remove();
  });
  const dataDir = async () => {
    const dir = await tempDir();
    removals.push(dir.remove);
    return dir.path;
  };
  const unrelatedProcess = () => holdingProcess((cleanup) => removals.push(cleanup));
  /** An instance file as a Vigil that wrote the pid only (no boot id, no start time) left it, last written `agoMs` ago. */
  const oldFormatFile = (dir: string, pid: number, agoMs: number) => {
    const path = join(dir, INSTANCE_FILE);
    writeFileSync(path, `${pid}\n`);
    const writtenAt = new Date(Date.now() - agoMs);
    utimesSync(path, writtenAt, writtenAt);
  };

  it('refuses a claim on a dir another live process serves, and leaves its file alone', async () => {
    const dir = await dataDir();
    // The parent process stands for a Vigil already serving the dir.
    writeFileSync(join(dir, INSTANCE_FILE), `${process.ppid}\n`);
    expect(() => claimInstance(dir)).toThrow(new RegExp(`a Vigil \\(pid ${process.ppid}\\) already serves`));
    expect(readFileSync(join(dir, INSTANCE_FILE), 'utf8')).toBe(`${process.ppid}\n`);
  });

  it('claims a dir whose file names a process that is gone, and removes only its own file', async () => {
    const dir = await dataDir();
    writeFileSync(join(dir, INSTANCE_FILE), '2147483646\n');
    const release = claimInstance(dir);
    expect(liveInstancePid(dir, -1)).toBe(process.pid);
    release();
    expect(existsSync(join(dir, INSTANCE_FILE))).toBe(false);
  });

  it.runIf(existsSync(BOOT_ID))('does not count a live pid written in an earlier boot (a power loss left the file)', async () => {
    const dir = await dataDir();
    writeFileSync(join(dir, INSTANCE_FILE), `${process.ppid}\n00000000-0000-0000-0000-000000000000\n`);
    expect(liveInstancePid(dir)).toBeUndefined();
    writeFileSync(join(dir, INSTANCE_FILE), `${process.ppid}\n${readFileSync(BOOT_ID, 'utf8').trim()}\n`);
    expect(liveInstancePid(dir)).toBe(process.ppid);
  });

  it.runIf(existsSync(BOOT_ID))('lets a start past a pid another process holds since the file was written (a crash left it, the pid was reused), not a restore', async () => {
    const dir = await dataDir();
    const boot = readFileSync(BOOT_ID, 'utf8').trim();
    const stat = readFileSync(`/proc/${process.ppid}/stat`, 'utf8');
    const started = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
    writeFileSync(join(dir, INSTANCE_FILE), `${process.ppid}\n${boot}\n${Number(started) + 1}\n`);
    expect(liveInstancePid(dir, process.pid, 'exact')).toBeUndefined();
    expect(() => claimInstance(dir)).not.toThrow();
    // A container's Vigil seen from the host looks the same (its pid 1 is the host's pid 1): a restore waits.
    writeFileSync(join(dir, INSTANCE_FILE), `${process.ppid}\n${boot}\n${Number(started) + 1}\n`);
    expect(liveInstancePid(dir)).toBe(process.ppid);
    writeFileSync(join(dir, INSTANCE_FILE), `${process.ppid}\n${boot}\n${started}\n`);
    expect(liveInstancePid(dir, process.pid, 'exact')).toBe(process.ppid);
  });

  it.runIf(existsSync(PROC_STAT))('lets a start past an old file (the pid only) whose pid a process started since holds, not a restore', async () => {
    const dir = await dataDir();
    // Written two minutes before the process holding its pid started: the crash of an older Vigil, the pid reused.
    const pid = unrelatedProcess();
    oldFormatFile(dir, pid, 120_000);
    expect(liveInstancePid(dir, process.pid, 'exact')).toBeUndefined();
    const release = claimInstance(dir);
    expect(liveInstancePid(dir, -1)).toBe(process.pid);
    release();
    // A restore stays cautious: any live holder of the pid may be a Vigil (a container's, seen from the host).
    oldFormatFile(dir, pid, 120_000);
    expect(liveInstancePid(dir)).toBe(pid);
  });

  it('still refuses a start on an old file (the pid only) written after its live process started: it may be an older Vigil', async () => {
    const dir = await dataDir();
    const pid = unrelatedProcess();
    // Written now, after the process started, as a running older Vigil writes its file.
    oldFormatFile(dir, pid, 0);
    expect(liveInstancePid(dir, process.pid, 'exact')).toBe(pid);
    expect(() => claimInstance(dir)).toThrow(new RegExp(`a Vigil \\(pid ${pid}\\) already serves`));
    expect(readFileSync(join(dir, INSTANCE_FILE), 'utf8')).toBe(`${pid}\n`);
    // Written 20 s before the process started: within what a wall clock stepped forward since could explain.
    oldFormatFile(dir, pid, 20_000);
    expect(() => claimInstance(dir)).toThrow(new RegExp(`a Vigil \\(pid ${pid}\\) already serves`));
    // The parent, started before this test wrote anything, is older than a file written now.
    oldFormatFile(dir, process.ppid, 0);
    expect(() => claimInstance(dir)).toThrow(new RegExp(`a Vigil \\(pid ${process.ppid}\\) already serves`));
  });

  it('writes the pid, and on Linux the boot id and the start time that tell this process from a later one', async () => {
    const dir = await dataDir();
    const release = claimInstance(dir);
    const [pid, boot, started] = readFileSync(join(dir, INSTANCE_FILE), 'utf8').split('\n');
    expect(Number(pid)).toBe(process.pid);
    if (existsSync(BOOT_ID)) {
      expect(boot).toBe(readFileSync(BOOT_ID, 'utf8').trim());
      expect(Number(started)).toBeGreaterThan(0);
    }
    release();
  });
});
