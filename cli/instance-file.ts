import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { topicPrefixSchema } from '../domain/index.js';
import { bootId, pidTakenSinceWritten, processStartTime, writtenInAnotherBoot } from '../lifecycle/index.js';

/**
 * A running `vigil start` or `vigil demo` records where it keeps its data, and its ports, in this file in its
 * working directory, so that `vigil patients add`, `vigil devices add`, `vigil simulate`... run beside it
 * without --data-dir act on that instance (the demo keeps its data apart, in ./demo-data). No secret is in it.
 */
export const INSTANCE_FILE = '.vigil-instance.json';

const instanceSchema = z.object({
  pid: z.number().int().positive(),
  mode: z.enum(['start', 'demo']),
  dataDir: z.string().min(1),
  // Absent in worker mode (VIGIL_BROKER_URL): devices connect to the external broker, not to this process.
  mqttPort: z.number().int().min(0).optional(),
  httpPort: z.number().int().min(0),
  // As VIGIL_TOPIC_PREFIX is checked: a record with a prefix Vigil refuses (hand-edited, or an older Vigil's, before
  // the prefix had a length limit) is no record, rather than every command failing on a variable nobody set.
  topicPrefix: topicPrefixSchema,
  startedAt: z.string(),
  // Linux: the boot and the process's start time (clock ticks since boot), which tell the process that wrote the
  // record from one that got its pid since (after a reboot, a container's restart). An older Vigil wrote neither.
  bootId: z.string().optional(),
  processStart: z.string().optional(),
});

export type RunningInstance = z.infer<typeof instanceSchema>;

function pathIn(dir: string): string {
  return resolve(dir, INSTANCE_FILE);
}

/** Writes the file atomically (a command reading it never sees half of it). A failure costs only the convenience. */
export function recordInstance(instance: Omit<RunningInstance, 'pid' | 'startedAt' | 'bootId' | 'processStart'>, dir = process.cwd()): { forget(): void } | Error {
  const path = pathIn(dir);
  const own: RunningInstance = { ...instance, pid: process.pid, startedAt: new Date().toISOString(), bootId: bootId(), processStart: processStartTime('self') };
  try {
    writeFileSync(`${path}.tmp`, `${JSON.stringify(own, null, 2)}\n`, { mode: 0o644 });
    renameSync(`${path}.tmp`, path);
  } catch (err) {
    return err as Error;
  }
  return {
    forget() {
      // Only our own record: a second instance started later in this directory may have replaced it.
      if (readInstanceRecord(dir)?.pid === process.pid) rmSync(path, { force: true });
    },
  };
}

function readInstanceRecord(dir: string): RunningInstance | undefined {
  try {
    const parsed = instanceSchema.safeParse(JSON.parse(readFileSync(pathIn(dir), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the process that wrote the record still runs. A live pid is not enough: a record left by a crash, a
 * SIGKILL or a power loss names a pid that after a reboot or a container's restart may be another process's,
 * and the commands would take the recorded data dir and ports for a running Vigil's. So, as for the data dir's
 * vigil.pid: a record from another boot is stale, and so is one whose pid is held by a process that started
 * at another time than the record says (or, for a record without a start time, more than a minute after the
 * record was written).
 */
function stillRuns(record: RunningInstance): boolean {
  if (writtenInAnotherBoot(record.bootId ?? '')) return false;
  if (pidTakenSinceWritten(record.pid, record.processStart ?? '', Date.parse(record.startedAt))) return false;
  return alive(record.pid);
}

/** The instance running from this directory, if its record is there and its process still runs. */
export function runningInstance(dir = process.cwd()): RunningInstance | undefined {
  const record = readInstanceRecord(dir);
  return record && stillRuns(record) ? record : undefined;
}
