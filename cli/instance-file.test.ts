import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BOOT_ID, PROC_STAT, startTimeOf, unrelatedProcess as holdingProcess } from '../test/support/processes.js';
import { tempDir } from '../test/support/temp.js';
import { INSTANCE_FILE, recordInstance, runningInstance } from './instance-file.js';


describe('the .vigil-instance.json record of the Vigil running from a directory', () => {
  const removals: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const remove of removals.splice(0)) await remove();
  });
  const workingDir = async () => {
    const dir = await tempDir();
    removals.push(dir.remove);
    return dir.path;
  };
  const unrelatedProcess = () => holdingProcess((cleanup) => removals.push(cleanup));
  /** A record as a running demo leaves it, naming `pid`, written `agoMs` ago; `identity` as a Linux Vigil adds it. */
  const writeRecord = (dir: string, pid: number, agoMs: number, identity: { bootId?: string; processStart?: string } = {}) => {
    const record = { pid, mode: 'demo', dataDir: join(dir, 'demo-data'), mqttPort: 1883, httpPort: 8080, topicPrefix: 'rpm/v1', startedAt: new Date(Date.now() - agoMs).toISOString(), ...identity };
    writeFileSync(join(dir, INSTANCE_FILE), JSON.stringify(record));
  };

  it('finds the record this process wrote, with what tells it from a later process, and forgets only its own', async () => {
    const dir = await workingDir();
    const record = recordInstance({ mode: 'start', dataDir: join(dir, 'data'), mqttPort: 1883, httpPort: 8080, topicPrefix: 'rpm/v1' }, dir);
    if (record instanceof Error) throw record;
    const found = runningInstance(dir);
    expect(found).toMatchObject({ pid: process.pid, mode: 'start', dataDir: join(dir, 'data') });
    if (existsSync(BOOT_ID)) {
      expect(found?.bootId).toBe(readFileSync(BOOT_ID, 'utf8').trim());
      expect(found?.processStart).toBe(startTimeOf(process.pid));
    }
    record.forget();
    expect(existsSync(join(dir, INSTANCE_FILE))).toBe(false);
  });

  it('ignores a record whose topic prefix Vigil would refuse (hand-edited, or left by an older Vigil)', async () => {
    const dir = await workingDir();
    for (const topicPrefix of ['a'.repeat(129), 'rpm//v1', '$SYS/rpm']) {
      writeFileSync(join(dir, INSTANCE_FILE), JSON.stringify({ pid: process.pid, mode: 'start', dataDir: join(dir, 'data'), mqttPort: 1883, httpPort: 8080, topicPrefix, startedAt: new Date().toISOString() }));
      // The commands then ask for --data-dir as when nothing runs here, not for a VIGIL_TOPIC_PREFIX nobody set.
      expect(runningInstance(dir), topicPrefix).toBeUndefined();
    }
  });

  it('ignores a record whose process is gone', async () => {
    const dir = await workingDir();
    writeRecord(dir, 2147483646, 0);
    expect(runningInstance(dir)).toBeUndefined();
  });

  it.runIf(existsSync(PROC_STAT))('ignores an old record (no start time) whose pid a process started since holds: the demo was killed, the pid reused', async () => {
    const dir = await workingDir();
    // Written two minutes before the process holding its pid started (a reboot, a container's restart since).
    const pid = unrelatedProcess();
    writeRecord(dir, pid, 120_000);
    expect(runningInstance(dir)).toBeUndefined();
    // Written 20 s before: within what a wall clock stepped forward since could explain, so it may be that Vigil.
    writeRecord(dir, pid, 20_000);
    expect(runningInstance(dir)?.pid).toBe(pid);
    // The parent, started before this test wrote anything, is older than a record written now: it may be a Vigil.
    writeRecord(dir, process.ppid, 0);
    expect(runningInstance(dir)?.pid).toBe(process.ppid);
  });

  it.runIf(existsSync(BOOT_ID))('ignores a record whose pid is held by a process started at another time, or written in another boot', async () => {
    const dir = await workingDir();
    const boot = readFileSync(BOOT_ID, 'utf8').trim();
    const started = startTimeOf(process.ppid);
    writeRecord(dir, process.ppid, 0, { bootId: boot, processStart: String(Number(started) + 1) });
    expect(runningInstance(dir)).toBeUndefined();
    writeRecord(dir, process.ppid, 0, { bootId: '00000000-0000-0000-0000-000000000000', processStart: started });
    expect(runningInstance(dir)).toBeUndefined();
    writeRecord(dir, process.ppid, 0, { bootId: boot, processStart: started });
    expect(runningInstance(dir)?.pid).toBe(process.ppid);
  });
});
