import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RUNTIME_FLAGS } from '../app/runtime-flags.js';
import { openState } from '../app/state.js';
import { freePort } from './ports.js';

export interface Target {
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  readonly httpUrl?: string | undefined;
  stop(): Promise<void>;
}

const DIST = join(import.meta.dirname, '..');

/** Polls until `check` holds (a failing check counts as not yet), or throws after `timeoutMs`. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Stops a server process (SIGTERM, then SIGKILL after 15 s), then cleans up after it. */
export function stopper(child: ChildProcess, cleanup?: () => Promise<void>): () => Promise<void> {
  return async () => {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    await cleanup?.();
  };
}

export async function startBareAedes(): Promise<Target> {
  const child = spawn(process.execPath, [join(DIST, 'bench', 'aedes-broker.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  return { name: 'aedes (bare broker)', url: `mqtt://127.0.0.1:${port}`, pid: child.pid!, stop: stopper(child) };
}

export async function startMosquitto(): Promise<Target | undefined> {
  if (!existsSync('/usr/sbin/mosquitto')) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-mosquitto-'));
  const port = await freePort();
  // field-notes.md: the default queue limits silently drop QoS 1 messages to a slow subscriber.
  await writeFile(join(dir, 'mosquitto.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`);
  const child = spawn('/usr/sbin/mosquitto', ['-c', join(dir, 'mosquitto.conf')], { stdio: 'ignore' });
  await until(async () => {
    const { connectAsync } = await import('mqtt');
    const c = await connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0, connectTimeout: 1000 });
    await c.endAsync();
    return true;
  }, 'mosquitto');
  return { name: 'Mosquitto (tuned not to drop)', url: `mqtt://127.0.0.1:${port}`, pid: child.pid!, stop: stopper(child, () => rm(dir, { recursive: true, force: true })) };
}

export async function startInfluxd(): Promise<{ url: string; pid: number; stop: () => Promise<void> } | undefined> {
  if (!existsSync('/usr/bin/influxd')) return undefined;
  const dir = await mkdtemp(join(tmpdir(), 'vigil-bench-influx-'));
  const port = await freePort();
  const rpc = await freePort();
  await writeFile(
    join(dir, 'influxdb.conf'),
    `reporting-disabled = true\nbind-address = "127.0.0.1:${rpc}"\n[meta]\n  dir = "${dir}/meta"\n[data]\n  dir = "${dir}/data"\n  wal-dir = "${dir}/wal"\n  max-values-per-tag = 0\n  query-log-enabled = false\n[http]\n  bind-address = "127.0.0.1:${port}"\n  log-enabled = false\n[monitor]\n  store-enabled = false\n[logging]\n  level = "error"\n`,
  );
  const child = spawn('/usr/bin/influxd', ['-config', join(dir, 'influxdb.conf')], { stdio: 'ignore' });
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/ping`)).status === 204, 'influxd');
  return { url, pid: child.pid!, stop: stopper(child, () => rm(dir, { recursive: true, force: true })) };
}

export interface VigilTarget extends Target {
  readonly devices: { deviceId: string; secret: string; patientId: string }[];
}

/** Vigil as users run it (`vigil start`), in its own process, with devices provisioned beforehand. */
export async function startVigil(deviceCount: number, env: Record<string, string>, label: string, seed?: (dataDir: string) => Promise<void>): Promise<VigilTarget> {
  const dataDir = await mkdtemp(join(tmpdir(), 'vigil-bench-'));
  await seed?.(dataDir);
  const { db, registry } = openState(dataDir);
  const devices: VigilTarget['devices'] = [];
  for (let i = 0; i < deviceCount; i++) {
    const patient = await registry.addPatient({ name: `Bench ${i}` });
    const { device, secret } = await registry.addDevice({ patientId: patient.id, id: `bench-${i}` });
    devices.push({ deviceId: device.id, secret, patientId: patient.id });
  }
  db.close();
  const mqttPort = await freePort();
  const httpPort = await freePort();
  // BENCH_VIGIL_NODE_ARGS profiles the server alone, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`.
  const nodeArgs = process.env.BENCH_VIGIL_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  // BENCH_VIGIL_STDOUT keeps what such flags print (e.g. `--trace-gc-nvp`), appended to one file for all runs.
  const stdout = process.env.BENCH_VIGIL_STDOUT ? openSync(process.env.BENCH_VIGIL_STDOUT, 'a') : 'ignore';
  // As its launchers run it (app/runtime-flags.ts).
  const child = spawn(process.execPath, [...RUNTIME_FLAGS, ...nodeArgs, join(DIST, 'cli', 'main.js'), 'start'], {
    env: {
      ...process.env,
      VIGIL_DATA_DIR: dataDir,
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_MQTT_PORT: String(mqttPort),
      VIGIL_HTTP_PORT: String(httpPort),
      VIGIL_LOG_LEVEL: 'warn',
      VIGIL_DEVICE_RATE: '1000000',
      VIGIL_DEVICE_BURST: '1000000',
      ...env,
    },
    stdio: ['ignore', stdout, 'inherit'],
  });
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  await until(async () => (await fetch(`${httpUrl}/readyz`)).ok, 'vigil');
  return { name: label, url: `mqtt://127.0.0.1:${mqttPort}`, httpUrl, pid: child.pid!, devices, stop: stopper(child, () => rm(dataDir, { recursive: true, force: true })) };
}
