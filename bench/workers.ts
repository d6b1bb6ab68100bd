/**
 * Worker mode against the embedded broker, in one run: the same device load through one external Mosquitto
 * consumed by 1, 2 and 3 Vigil workers (`vigil start` with VIGIL_BROKER_URL, each its own process, data dir and
 * embedded store), beside one Vigil with its embedded broker. Through a broker the device's PUBACK comes from
 * the broker, so what counts is when the workers have made the readings durable (the PUBACK a worker sends the
 * broker) and stored them.
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_FLAGS } from '../app/runtime-flags.js';
import { openState } from '../app/state.js';
import { runLoad, type LoadResult } from './load.js';
import { freePort } from './ports.js';
import { processUsage } from './stats.js';
import { startMosquitto, startVigil, stopper, until } from './targets.js';

export interface WorkersRow {
  readonly target: string;
  readonly workers: number;
  readonly devices: number;
  readonly messages: number;
  /** Device publishes acknowledged per second (by the broker in worker mode, by Vigil when embedded). */
  readonly pubackPerSecond: number;
  /** Readings made durable in Vigil per second, from the first publish to the last durable commit. */
  readonly durablePerSecond: number;
  /** Readings stored per second, from the first publish to the last stored. */
  readonly storedPerSecond: number;
  readonly vigilCpuSeconds: number;
  readonly brokerCpuSeconds: number | undefined;
  /** The largest peak RSS of a Vigil process in the row. */
  readonly vigilPeakRssMiB: number;
}

export interface WorkersOptions {
  readonly messages: number;
  readonly devices: number;
  readonly window: number;
  readonly workerCounts: readonly number[];
  readonly payload: (deviceId: string, n: number) => string;
}

const DIST = join(import.meta.dirname, '..');

/** The unlabelled value of a metric (a counter, or a histogram's `_count`) on one Vigil's /metrics. */
async function metric(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** Polls the sum of a metric over processes until it reaches `count`; resolves with when it did (ms, performance clock). */
async function reached(httpUrls: readonly string[], name: string, count: number, timeoutMs = 300_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const values = await Promise.all(httpUrls.map((u) => metric(u, name).catch(() => 0)));
    if (values.reduce((a, b) => a + b, 0) >= count) return performance.now();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${count} ${name}`);
}

/** A registry with the bench's devices, copied into each worker's data dir (state is per worker for now). */
async function provisionTemplate(devices: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-workers-template-'));
  const { db, registry } = openState(dir);
  for (let i = 0; i < devices; i++) {
    const patient = await registry.addPatient({ name: `Bench ${i}` });
    await registry.addDevice({ patientId: patient.id, id: `bench-${i}` });
  }
  db.close();
  return dir;
}

async function startWorker(template: string, brokerUrl: string, index: number, group: string) {
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-worker-'));
  await cp(template, dataDir, { recursive: true });
  const httpPort = await freePort();
  const child = spawn(process.execPath, [...RUNTIME_FLAGS, join(DIST, 'cli', 'main.js'), 'start'], {
    cwd: dataDir,
    env: {
      ...process.env,
      VIGIL_DATA_DIR: dataDir,
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: String(httpPort),
      VIGIL_LOG_LEVEL: 'warn',
      VIGIL_BROKER_URL: brokerUrl,
      VIGIL_BROKER_CLIENT_ID: `bench-worker-${index}`,
      VIGIL_BROKER_SHARE_GROUP: group,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await until(async () => (await fetch(`${httpUrl}/readyz`)).ok, `worker ${index}`);
  return { httpUrl, pid: child.pid!, stop: stopper(child, () => rm(dataDir, { recursive: true, force: true })) };
}

function row(target: string, workers: number, o: WorkersOptions, load: LoadResult, durableAt: number, storedAt: number, vigilCpu: number, brokerCpu: number | undefined, rss: number): WorkersRow {
  const startedAt = load.startedAt;
  return {
    target,
    workers,
    devices: o.devices,
    messages: load.acknowledged,
    pubackPerSecond: load.acknowledged / load.seconds,
    durablePerSecond: (load.acknowledged * 1000) / (durableAt - startedAt),
    storedPerSecond: (load.acknowledged * 1000) / (storedAt - startedAt),
    vigilCpuSeconds: vigilCpu,
    brokerCpuSeconds: brokerCpu,
    vigilPeakRssMiB: rss,
  };
}

/** One Vigil with its embedded broker: its PUBACK means durable, so durable/s is its PUBACK rate. */
async function embedded(o: WorkersOptions): Promise<WorkersRow> {
  const target = await startVigil(o.devices, {}, 'Vigil, embedded broker');
  try {
    const before = processUsage(target.pid);
    const load = await runLoad({ url: target.url, devices: target.devices, perDevice: Math.ceil(o.messages / o.devices), window: o.window, payload: o.payload });
    const durableAt = load.startedAt + load.seconds * 1000;
    const storedAt = await reached([target.httpUrl!], 'vigil_readings_stored_total', load.acknowledged);
    const after = processUsage(target.pid);
    return row(target.name, 1, o, load, durableAt, storedAt, after.cpuSeconds - before.cpuSeconds, undefined, after.peakRssMiB);
  } finally {
    await target.stop();
  }
}

/** N workers on a fresh Mosquitto (no sessions left from another row), devices publishing to it. */
async function external(o: WorkersOptions, template: string, count: number): Promise<WorkersRow | undefined> {
  const broker = await startMosquitto();
  if (!broker) return undefined;
  const workers: Awaited<ReturnType<typeof startWorker>>[] = [];
  try {
    for (let i = 1; i <= count; i++) workers.push(await startWorker(template, broker.url, i, `bench${count}`));
    const urls = workers.map((w) => w.httpUrl);
    const cpu = () => workers.reduce((sum, w) => sum + processUsage(w.pid).cpuSeconds, 0);
    const vigilBefore = cpu();
    const brokerBefore = processUsage(broker.pid).cpuSeconds;
    const devices = Array.from({ length: o.devices }, (_, i) => ({ deviceId: `bench-${i}` }));
    const load = await runLoad({ url: broker.url, devices, perDevice: Math.ceil(o.messages / o.devices), window: o.window, payload: o.payload });
    // A worker observes this histogram once per readings message, when it releases the PUBACK after the commit.
    const durableAt = await reached(urls, 'vigil_broker_ack_duration_seconds_count', load.acknowledged);
    const storedAt = await reached(urls, 'vigil_readings_stored_total', load.acknowledged);
    const rss = Math.max(...workers.map((w) => processUsage(w.pid).peakRssMiB));
    return row(`Vigil, ${count} worker${count > 1 ? 's' : ''} on Mosquitto`, count, o, load, durableAt, storedAt, cpu() - vigilBefore, processUsage(broker.pid).cpuSeconds - brokerBefore, rss);
  } finally {
    for (const w of workers) await w.stop();
    await broker.stop();
  }
}

export async function benchWorkers(o: WorkersOptions): Promise<WorkersRow[]> {
  const rows = [await embedded(o)];
  const template = await provisionTemplate(o.devices);
  try {
    for (const count of o.workerCounts) {
      const r = await external(o, template, count);
      if (r) rows.push(r);
    }
  } finally {
    await rm(template, { recursive: true, force: true });
  }
  return rows;
}

const f = (v: number | undefined, d = 1) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));
const n = (v: number) => Math.round(v).toLocaleString('en');

export function workersTable(rows: readonly WorkersRow[]): string {
  const base = rows[0]?.durablePerSecond ?? Number.NaN;
  const head = '| target | devices | device PUBACKs/s | durable in Vigil/s | vs embedded | stored/s | Vigil CPU s (all workers) | Mosquitto CPU s | Vigil peak RSS MiB (largest) |';
  const sep = '|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map(
    (r) =>
      `| ${r.target} | ${r.devices} | ${n(r.pubackPerSecond)} | ${n(r.durablePerSecond)} | ${Math.round((r.durablePerSecond / base) * 100)} % | ${n(r.storedPerSecond)} | ${f(r.vigilCpuSeconds)} | ${f(r.brokerCpuSeconds)} | ${f(r.vigilPeakRssMiB, 0)} |`,
  );
  return [head, sep, ...lines].join('\n');
}
