import type { ChildProcess } from 'node:child_process';
import { connect, type MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { SqliteStore } from '../ingest/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { startVigilProcess } from './support/vigil-process.js';

const DEVICES = 20;
const KILLS = 3;

/**
 * SIGKILL at random moments while devices publish QoS 1 readings with persistent sessions (resending what was
 * not acknowledged, as real devices do). Afterwards every reading a device saw acknowledged is stored, once.
 */
describe('crash safety', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('loses no acknowledged reading and stores none twice across repeated SIGKILLs', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const env: Record<string, string> = { VIGIL_DATA_DIR: dir.path, VIGIL_DEVICE_RATE: '1000', VIGIL_DEVICE_BURST: '1000' };

    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'Crash Test' });
    const creds = [];
    for (let i = 0; i < DEVICES; i++) creds.push({ ...(await registry.addDevice({ patientId: patient.id, id: `crash-${i}` })), patientId: patient.id });
    db.close();

    let server: ChildProcess | undefined;
    // The first start picks free ports; restarts take the same ones, where the devices reconnect.
    const start = async () => {
      const started = await startVigilProcess(env);
      server = started.child;
      Object.assign(env, { VIGIL_MQTT_PORT: String(started.mqttPort), VIGIL_HTTP_PORT: String(started.httpPort) });
    };
    cleanups.push(() => void server?.kill('SIGKILL'));
    await start();
    const mqttPort = Number(env.VIGIL_MQTT_PORT);

    const acked = new Set<string>();
    const published = new Set<string>();
    let running = true;
    const clients: MqttClient[] = [];
    const devices = creds.map(async ({ device, secret }) => {
      const client = connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: device.id, username: device.id, password: secret, clean: false, reconnectPeriod: 100, connectTimeout: 5000 });
      clients.push(client);
      client.on('error', () => undefined);
      const base = Date.now() - 3_600_000;
      const inflight = new Set<Promise<void>>();
      for (let n = 0; running; n++) {
        const id = `${device.id}-${n}`;
        published.add(id);
        const payload = JSON.stringify({ type: 'heart_rate', time: new Date(base + n * 1000).toISOString(), value: 50 + (n % 100), id });
        // A real device keeps a reading until it is acknowledged: mqtt.js fails publishes it had queued (not yet
        // sent) when the connection drops while it resends its session, so those are sent again here.
        const p = (async () => {
          for (let attempt = 0; attempt < 100 && !acked.has(id); attempt++) {
            const error = await new Promise<Error | undefined>((resolve) => {
              client.publish(`rpm/v1/devices/${device.id}/readings`, payload, { qos: 1 }, (err) => resolve(err ?? undefined));
            });
            if (!error) acked.add(id);
            else await new Promise((resolve) => setTimeout(resolve, 100));
          }
        })();
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        if (inflight.size >= 8) await Promise.race(inflight);
      }
      await Promise.all(inflight);
    });
    cleanups.push(() => Promise.all(clients.map((c) => c.endAsync(true))).then(() => undefined));

    for (let k = 0; k < KILLS; k++) {
      const before = acked.size;
      await waitFor(() => acked.size >= before + 200, { what: 'progress before the kill', timeoutMs: 30_000 });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 500));
      const exited = new Promise((resolve) => server!.once('exit', resolve));
      server!.kill('SIGKILL');
      await exited;
      await start();
    }
    const beforeEnd = acked.size;
    await waitFor(() => acked.size >= beforeEnd + 200, { what: 'progress after the last restart', timeoutMs: 30_000 });
    running = false;
    await Promise.race([Promise.all(devices), new Promise((_, reject) => setTimeout(() => reject(new Error('devices did not finish')), 30_000))]);
    // Every message was eventually acknowledged (resent after each crash).
    expect(acked.size).toBe(published.size);

    const exited = new Promise<number | null>((resolve) => server!.once('exit', (code) => resolve(code)));
    server!.kill('SIGTERM');
    expect(await exited).toBe(0);

    const store = new SqliteStore(dir.path);
    cleanups.push(() => store.close());
    const rows = await store.queryRaw({ patientId: patient.id, type: 'heart_rate', from: 0, to: Date.now() });
    expect(rows.length).toBe(acked.size);
    expect(new Set(rows.map((r) => `${r.deviceId}|${r.time}`)).size).toBe(rows.length);
    // Several restarts of a real process: about a minute on a busy machine, which the 60 s default cut short.
  }, 180_000);
});
