import { connectAsync, type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir, waitFor } from './support/temp.js';
import { logInto } from './support/log-lines.js';

const DEVICES = ['noisy-dev', 'other-dev'] as const;
const topic = (deviceId: string, kind: 'readings' | 'status' | 'errors') => `rpm/v1/devices/${deviceId}/${kind}`;

/**
 * Worker mode's log stays bounded per device, as the embedded gateway's does: a device whose every message is
 * rejected or refused writes at most one line per 10 s, while each message is still recorded and answered.
 */
describe('worker mode logs a misbehaving device at most once per 10 s', () => {
  let broker: MosquittoInstance;
  let dir: { path: string; remove: () => Promise<void> };
  let vigil: Vigil;
  const lines: Record<string, unknown>[] = [];
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = await startMosquitto();
    dir = await tempDir('vigil-worker-log-');
    const { db, registry } = openState(dir.path);
    const patientId = (await registry.addPatient({ name: 'Worker log patient' })).id;
    for (const id of DEVICES) await registry.addDevice({ patientId, id });
    db.close();
    const log = logInto(lines);
    const config = loadConfig({
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BIND_HOST: '127.0.0.1',
      VIGIL_HTTP_PORT: '0',
      VIGIL_LOG_LEVEL: 'info',
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: 'log-worker',
      VIGIL_BROKER_SHARE_GROUP: 'g-log',
    });
    vigil = await startVigil(config, createLogger(config.logLevel, log));
  }, 30_000);

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  });

  afterAll(async () => {
    await vigil?.close(2_000);
    await broker?.stop();
    await dir?.remove();
  });

  /** A device on the external broker, with the messages its errors topic receives. */
  async function device(deviceId: string): Promise<{ client: MqttClient; errors: { ref: string; code: string }[] }> {
    const client = await connectAsync(broker.url, { clientId: deviceId, reconnectPeriod: 0, connectTimeout: 5_000 });
    clients.push(client);
    const errors: { ref: string; code: string }[] = [];
    client.on('message', (_topic, payload) => errors.push(JSON.parse(payload.toString('utf8'))));
    await client.subscribeAsync(topic(deviceId, 'errors'), { qos: 1 });
    return { client, errors };
  }

  const logged = (deviceId: string, msg: string) => lines.filter((l) => l.deviceId === deviceId && l.msg === msg);

  it('rejected readings: every publish recorded and answered, one line per device per 10 s with the count, the folded ones counted when the interval ends', async () => {
    const [noisy, other] = [await device('noisy-dev'), await device('other-dev')];
    const rejectedPublish = (client: MqttClient, deviceId: string, ref: string) =>
      client.publishAsync(topic(deviceId, 'readings'), JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 0, id: ref }), { qos: 1 });
    const refs = (n: number) => Array.from({ length: n }, (_, i) => `n-${i}`);

    for (const ref of refs(30)) await rejectedPublish(noisy.client, 'noisy-dev', ref);
    await rejectedPublish(other.client, 'other-dev', 'o-0');
    await waitFor(() => noisy.errors.length === 30 && other.errors.length === 1, { what: 'an errors message per publish' });
    expect(noisy.errors.map((e) => e.ref).sort()).toEqual(refs(30).sort());
    expect(vigil.ingest.rejections.recent({ deviceId: 'noisy-dev' })).toHaveLength(30);
    expect(logged('noisy-dev', 'readings rejected').map((l) => l.count)).toEqual([1]);
    // Another device's line is not held back by the noisy one's.
    expect(logged('other-dev', 'readings rejected').map((l) => l.count)).toEqual([1]);

    // The device has stopped: when its interval ends, a line counts the 29 publishes folded since, no later one
    // needed (it is the line of the last of them).
    await waitFor(() => logged('noisy-dev', 'readings rejected').length === 2, { timeoutMs: 20_000, what: 'the line ending the interval' });
    const [first, last] = logged('noisy-dev', 'readings rejected');
    expect((last!.time as number) - (first!.time as number)).toBeGreaterThanOrEqual(10_000);
    // Ids, codes and counts: no reading value.
    const { time: _time, ...fields } = last!;
    expect(fields).toEqual({ level: 30, service: 'vigil', component: 'gateway', deviceId: 'noisy-dev', rejected: 1, codes: { VIGIL_ERR_OUT_OF_RANGE: 1 }, count: 29, msg: 'readings rejected' });

    // That line opened the device's next interval: a publish now is recorded and answered, and folded.
    await rejectedPublish(noisy.client, 'noisy-dev', 'n-30');
    await waitFor(() => noisy.errors.length === 31, { what: 'the 31st errors message' });
    expect(vigil.ingest.rejections.recent({ deviceId: 'noisy-dev' })).toHaveLength(31);
    expect(logged('noisy-dev', 'readings rejected')).toHaveLength(2);
  }, 60_000);

  it('refusals: one line per registered device and code; ids Vigil does not know share one per code', async () => {
    const [noisy, other] = [await device('noisy-dev'), await device('other-dev')];
    for (let i = 0; i < 5; i++) await noisy.client.publishAsync(topic('noisy-dev', 'status'), 'not a status', { qos: 1 });
    await other.client.publishAsync(topic('other-dev', 'status'), 'not a status', { qos: 1 });
    await waitFor(() => noisy.errors.length === 5 && other.errors.length === 1, { what: 'an errors message per refused status' });
    expect(logged('noisy-dev', 'message from the broker refused').map((l) => [l.code, l.count])).toEqual([['VIGIL_ERR_BAD_STATUS', 1]]);
    expect(logged('other-dev', 'message from the broker refused').map((l) => [l.code, l.count])).toEqual([['VIGIL_ERR_BAD_STATUS', 1]]);

    // The broker let these through (anonymous here): a new made-up id per message must not buy a line each.
    const strangers = await Promise.all(['ghost-1', 'ghost-2', 'ghost-3'].map(device));
    for (const [i, s] of strangers.entries()) await s.client.publishAsync(topic(`ghost-${i + 1}`, 'readings'), '{}', { qos: 1 });
    await waitFor(() => strangers.every((s) => s.errors.length === 1), { what: 'each stranger told it is unknown' });
    const ghostLines = lines.filter((l) => String(l.deviceId).startsWith('ghost-') && l.msg === 'message from the broker refused');
    expect(ghostLines.map((l) => l.code)).toEqual(['VIGIL_ERR_NOT_FOUND']);
  }, 60_000);

  it('a made-up device id as long as a topic may be: its line keeps its first 64 characters and its length', async () => {
    // The broker lets a topic be 65,535 bytes; the id is most of it. A refused status, whose code no test above used.
    const hugeId = `stranger-${'x'.repeat(60_000)}`;
    const client = await connectAsync(broker.url, { clientId: 'stranger', reconnectPeriod: 0, connectTimeout: 5_000 });
    clients.push(client);
    await client.publishAsync(topic(hugeId, 'status'), 'not a status', { qos: 1 });
    const refusedLine = () => lines.find((l) => String(l.deviceId).startsWith('stranger-') && l.msg === 'message from the broker refused');
    await waitFor(() => refusedLine() !== undefined, { what: 'the refusal line of the made-up id' });
    const { time: _time, ...fields } = refusedLine()!;
    expect(fields).toEqual({ level: 40, service: 'vigil', component: 'gateway', deviceId: `${hugeId.slice(0, 64)}…`, deviceIdLength: hugeId.length, code: 'VIGIL_ERR_BAD_STATUS', count: 1, msg: 'message from the broker refused' });
  }, 60_000);
});
