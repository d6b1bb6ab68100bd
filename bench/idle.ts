/**
 * Many connected, idle devices: 10,000 devices hold an MQTT connection to Vigil (`vigil start`) and say
 * nothing, as a programme's fleet does between readings. Measures Vigil's resident memory with all of them
 * connected; a reconnect storm: every connection dropped at once (a network outage) and all devices
 * reconnecting together, timed until the last CONNACK; and a burst: every device uploading its backlog at once.
 */
import { generate } from 'mqtt-packet';
import { connect as tcpConnect, type Socket } from 'node:net';
import { currentRssMiB, metricValue, processUsage } from './stats.js';
import { startVigil, until } from './targets.js';

const DEVICES = Number(process.env.BENCH_IDLE_DEVICES ?? 10_000);
/** Readings in each device's backlog upload during the burst. */
const BACKLOG = 20;

export interface IdleBench {
  readonly devices: number;
  readonly provisionSeconds: number;
  readonly connectSeconds: number;
  readonly idleRssMiB: number;
  readonly baselineRssMiB: number;
  readonly stormSeconds: number;
  readonly stormPeakRssMiB: number;
  readonly cpuSeconds: number;
  readonly burstSeconds: number;
  readonly burstStoredSeconds: number;
  readonly burstPeakRssMiB: number;
}

/** One device's MQTT connection: CONNECT with its credentials, keep-alive off (an idle device), CONNACK checked. */
function connectDevice(port: number, d: { deviceId: string; secret: string }): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.setNoDelay(true);
    // After the CONNACK an error (the server going away) ends this connection only; before it, the attempt.
    socket.on('error', reject);
    socket.once('connect', () =>
      socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: d.deviceId, keepalive: 0, username: d.deviceId, password: Buffer.from(d.secret) })),
    );
    socket.once('data', (chunk: Buffer) => {
      // CONNACK: 0x20, length 2, flags, return code.
      if (chunk[0] === 0x20 && chunk[3] === 0) resolve(socket);
      else reject(new Error(`${d.deviceId}: refused (${chunk.toString('hex')})`));
    });
    // Closed before any CONNACK (a connection cap, a CONNECT deadline): this attempt failed; settling here keeps
    // the bench from waiting for ever (a no-op once resolved).
    socket.once('close', () => reject(new Error(`${d.deviceId}: closed before CONNACK`)));
  });
}

/** Connects as a device does: a refused or cut attempt is tried again, a bounded number of times. */
async function connectWithRetry(port: number, d: { deviceId: string; secret: string }, attempts = 5): Promise<Socket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectDevice(port, d);
    } catch (err) {
      if (attempt >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

async function connectAll(port: number, devices: readonly { deviceId: string; secret: string }[], concurrency: number): Promise<Socket[]> {
  const sockets: Socket[] = new Array(devices.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < devices.length) {
        const i = next++;
        sockets[i] = await connectWithRetry(port, devices[i]!);
      }
    }),
  );
  return sockets;
}

export async function benchIdle(): Promise<IdleBench> {
  const provisionStarted = performance.now();
  // Every bench device connects from 127.0.0.1 and, in the storm, reconnects while its old socket is closing:
  // caps above twice the fleet, so the measurement is of Vigil's work, not of its limits (a real fleet comes
  // from many addresses; the caps' defaults are in docs/security.md).
  const caps = String(2 * DEVICES);
  const target = await startVigil(DEVICES, { VIGIL_MQTT_MAX_CONNECTIONS: caps, VIGIL_MQTT_MAX_CONNECTIONS_PER_ADDRESS: caps }, 'Vigil, idle devices');
  const provisionSeconds = (performance.now() - provisionStarted) / 1000;
  const port = Number(new URL(target.url).port);
  try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const baselineRssMiB = currentRssMiB(target.pid);
    const before = processUsage(target.pid);
    const connectStarted = performance.now();
    let sockets = await connectAll(port, target.devices, 200);
    const connectSeconds = (performance.now() - connectStarted) / 1000;
    await until(async () => (await metricValue(target.httpUrl!, 'vigil_devices_connected')) === DEVICES, 'every device connected', 60_000);
    // Idle for a while: what stays resident once the connection churn has settled.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const idleRssMiB = currentRssMiB(target.pid);

    // The storm: every connection cut at once, then every device back at once.
    for (const s of sockets) s.destroy();
    await until(async () => (await metricValue(target.httpUrl!, 'vigil_devices_connected')) === 0, 'every connection gone', 60_000);
    const stormStarted = performance.now();
    sockets = await connectAll(port, target.devices, 2_000);
    const stormSeconds = (performance.now() - stormStarted) / 1000;
    await until(async () => (await metricValue(target.httpUrl!, 'vigil_devices_connected')) === DEVICES, 'every device connected', 60_000);
    const afterStorm = processUsage(target.pid);

    // The burst: every device uploads a backlog at the same moment (hubs back online), QoS 1.
    const base = Date.now() - 3_600_000;
    const burstStarted = performance.now();
    await Promise.all(
      sockets.map(
        (socket, i) =>
          new Promise<void>((resolve, reject) => {
            const d = target.devices[i]!;
            const readings = Array.from({ length: BACKLOG }, (_, n) => ({ type: 'heart_rate', time: new Date(base + n * 60_000 + i).toISOString(), value: 60 + (n % 30), id: `b${n}` }));
            socket.on('data', (chunk: Buffer) => {
              if (chunk[0] === 0x40) resolve();
              else reject(new Error(`${d.deviceId}: expected PUBACK, got ${chunk.toString('hex')}`));
            });
            socket.write(generate({ cmd: 'publish', topic: `rpm/v1/devices/${d.deviceId}/readings`, payload: JSON.stringify(readings), qos: 1, messageId: 1, retain: false, dup: false }));
          }),
      ),
    );
    const burstSeconds = (performance.now() - burstStarted) / 1000;
    await until(async () => (await metricValue(target.httpUrl!, 'vigil_readings_stored_total')) >= DEVICES * BACKLOG, 'the burst stored', 300_000);
    const burstStoredSeconds = (performance.now() - burstStarted) / 1000;
    const after = processUsage(target.pid);
    for (const s of sockets) s.destroy();
    return {
      devices: DEVICES,
      provisionSeconds,
      connectSeconds,
      idleRssMiB,
      baselineRssMiB,
      stormSeconds,
      stormPeakRssMiB: afterStorm.peakRssMiB,
      cpuSeconds: afterStorm.cpuSeconds - before.cpuSeconds,
      burstSeconds,
      burstStoredSeconds,
      burstPeakRssMiB: after.peakRssMiB,
    };
  } finally {
    await target.stop();
  }
}

export function idleTable(r: IdleBench): string {
  const f = (v: number, d = 0) => v.toFixed(d);
  return [
    '| measure | value |',
    '|---|---|',
    `| devices provisioned (\`Registry.addDevice\`, one transaction each) | ${r.devices.toLocaleString('en')} in ${f(r.provisionSeconds, 1)} s |`,
    `| Vigil RSS before any device connects | ${f(r.baselineRssMiB)} MiB |`,
    `| ${r.devices.toLocaleString('en')} devices connected (200 at a time) | in ${f(r.connectSeconds, 1)} s |`,
    `| **Vigil RSS with ${r.devices.toLocaleString('en')} idle devices connected** | **${f(r.idleRssMiB)} MiB** |`,
    `| reconnect storm: all dropped at once, all back at once (2,000 at a time) | last CONNACK after ${f(r.stormSeconds, 1)} s |`,
    `| Vigil peak RSS up to the end of the storm | ${f(r.stormPeakRssMiB)} MiB |`,
    `| Vigil CPU for both rounds of connections | ${f(r.cpuSeconds, 1)} s |`,
    `| burst: every device uploads a backlog of ${BACKLOG} readings at the same moment (${(r.devices * BACKLOG).toLocaleString('en')} readings, QoS 1) | all acknowledged after ${f(r.burstSeconds, 1)} s, all stored after ${f(r.burstStoredSeconds, 1)} s |`,
    `| Vigil peak RSS over the whole run, including the burst | ${f(r.burstPeakRssMiB)} MiB |`,
  ].join('\n');
}
