import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';

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
  topicPrefix: z.string().min(1),
  startedAt: z.string(),
});

export type RunningInstance = z.infer<typeof instanceSchema>;

function pathIn(dir: string): string {
  return resolve(dir, INSTANCE_FILE);
}

/** Writes the file atomically (a command reading it never sees half of it). A failure costs only the convenience. */
export function recordInstance(instance: Omit<RunningInstance, 'pid' | 'startedAt'>, dir = process.cwd()): { forget(): void } | Error {
  const path = pathIn(dir);
  const own: RunningInstance = { ...instance, pid: process.pid, startedAt: new Date().toISOString() };
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

/** The instance running from this directory, if its record is there and its process still lives. */
export function runningInstance(dir = process.cwd()): RunningInstance | undefined {
  const record = readInstanceRecord(dir);
  return record && alive(record.pid) ? record : undefined;
}
