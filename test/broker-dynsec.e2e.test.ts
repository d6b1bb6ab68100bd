import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectAsync, type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { DynsecControl, DynsecProvisioner, type DynsecCommands } from '../gateway/index.js';
import { SqliteStore } from '../ingest/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir, waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const topic = (deviceId: string, kind: 'readings' | 'status' | 'errors') => `rpm/v1/devices/${deviceId}/${kind}`;
const base = Date.now() - 3_600_000;
const reading = (i: number) => JSON.stringify({ type: 'blood_pressure', time: new Date(base + i * 1000).toISOString(), systolic: 120, diastolic: 80, pulse: 70, id: `r${i}` });

/**
 * Worker mode on a real Mosquitto with its dynamic-security plugin: Vigil provisions each device as a broker
 * client with a role of its own topics, from the registry and from `vigil devices ...`; revoking a device in
 * Vigil cuts it off at the broker.
 */
describe('device logins at Mosquitto (dynamic security)', () => {
  let broker: MosquittoInstance;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let vigil: Vigil;
  let env: Record<string, string>;
  let oldSecret: string;
  const patients = new Map<string, string>();
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    broker = await startMosquitto({ dynsec: { adminPassword: 'admin-secret-1' } });
    dir = await tempDir('vigil-dynsec-');
    // A device provisioned before dynamic security was on: the broker has never seen its secret.
    const { db, registry } = openState(dir.path);
    for (const id of ['old-1', 'new-1']) patients.set(id, (await registry.addPatient({ name: `Dynsec ${id}` })).id);
    oldSecret = (await registry.addDevice({ patientId: patients.get('old-1')!, id: 'old-1' })).secret;
    db.close();
    const adminFile = join(dir.path, 'dynsec-admin-password');
    await writeFile(adminFile, 'admin-secret-1\n');
    env = {
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: 'dynsec-worker-1',
      VIGIL_BROKER_USERNAME: 'vigil-worker',
      VIGIL_BROKER_PASSWORD: 'worker-secret-1',
      VIGIL_BROKER_DYNSEC: 'true',
      VIGIL_BROKER_DYNSEC_USERNAME: 'admin',
      VIGIL_BROKER_DYNSEC_PASSWORD_FILE: adminFile,
    };
    const config = loadConfig({ VIGIL_BIND_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent', ...env });
    // The broker knows only its administrator: the start-up reconcile creates the worker's login and role first.
    vigil = await startVigil(config, createLogger(config.logLevel));
  }, 180_000);

  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => undefined);
    await vigil?.close(2_000);
    await broker?.stop();
    await dir?.remove();
  });

  async function cli(args: string[], input?: string, extraEnv: Record<string, string> = env) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...extraEnv }, timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
      child.stdin?.end(input ?? '');
    });
  }

  async function device(deviceId: string, password: string, options: IClientOptions = {}): Promise<MqttClient> {
    const client = await connectAsync(broker.url, { clientId: deviceId, username: deviceId, password, reconnectPeriod: 0, connectTimeout: 5_000, protocolVersion: 5, ...options });
    clients.push(client);
    return client;
  }

  /** The CONNACK reason the broker refuses this login with (MQTT 5: 0x87 not authorised, 0x86 bad user name or password). */
  async function refusal(deviceId: string, password: string): Promise<number | undefined> {
    try {
      const client = await device(deviceId, password);
      await client.endAsync(true);
      return undefined;
    } catch (err) {
      return (err as { code?: number }).code;
    }
  }

  async function storedTimes(deviceId: string): Promise<number[]> {
    const store = new SqliteStore(dir.path);
    try {
      return (await store.queryRaw({ patientId: patients.get(deviceId)!, type: 'blood_pressure', from: 0, to: Date.now() + 86_400_000 })).map((r) => r.time);
    } finally {
      await store.close();
    }
  }

  it('a device provisioned before dynamic security is refused until its secret is pushed, checked against the registry', async () => {
    expect(await refusal('old-1', oldSecret)).toBeDefined();
    const wrong = await cli(['devices', 'broker-password', 'old-1'], 'not-the-secret\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/not the secret Vigil holds/);
    const pushed = await cli(['devices', 'broker-password', 'old-1'], `${oldSecret}\n`);
    expect(pushed, pushed.stderr).toMatchObject({ code: 0 });
    const client = await device('old-1', oldSecret);
    await client.publishAsync(topic('old-1', 'readings'), reading(1), { qos: 1 });
    await waitFor(async () => (await storedTimes('old-1')).length === 1, { what: 'the reading of old-1 stored' });
  }, 180_000);

  it('a device added with the CLI connects and publishes; it may not publish or subscribe on another device’s topics', async () => {
    const added = await cli(['devices', 'add', '--patient', patients.get('new-1')!, '--id', 'new-1', '--json']);
    expect(added.code, added.stderr).toBe(0);
    const { secret } = JSON.parse(added.stdout) as { secret: string };
    const client = await device('new-1', secret);
    await expect(client.subscribeAsync(topic('old-1', 'errors'), { qos: 1 })).rejects.toThrow(/Not authorized/i);
    await expect(client.subscribeAsync(`rpm/v1/devices/+/errors`, { qos: 1 })).rejects.toThrow(/Not authorized/i);
    expect(await client.subscribeAsync(topic('new-1', 'errors'), { qos: 1 })).toMatchObject([{ qos: 1 }]);
    await client.publishAsync(topic('new-1', 'readings'), reading(2), { qos: 1 });
    // MQTT 5: the broker answers a publish outside the device's role with PUBACK 0x87 and never delivers it.
    await expect(client.publishAsync(topic('old-1', 'readings'), reading(3), { qos: 1 })).rejects.toMatchObject({ code: 0x87 });
    await waitFor(async () => (await storedTimes('new-1')).length === 1, { what: 'the reading of new-1 stored' });
    // The reading sent on old-1's topic reached no worker: old-1's patient still has its one reading.
    expect(await storedTimes('old-1')).toEqual([base + 1000]);
  }, 180_000);

  it('revoking a device with the CLI drops its live connection and refuses it; a rotated secret reinstates it, the old one stays out', async () => {
    const firstSecret = JSON.parse((await cli(['devices', 'rotate-secret', 'new-1', '--json'])).stdout).secret as string;
    const live = await device('new-1', firstSecret);
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
    const revoked = await cli(['devices', 'revoke', 'new-1']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).toMatch(/device new-1 updated at the broker/);
    await closed;
    expect(await refusal('new-1', firstSecret)).toBeDefined();

    const rotated = await cli(['devices', 'rotate-secret', 'new-1', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const secret = (JSON.parse(rotated.stdout) as { secret: string }).secret;
    expect(await refusal('new-1', firstSecret)).toBeDefined();
    const back = await device('new-1', secret);
    await back.publishAsync(topic('new-1', 'readings'), reading(4), { qos: 1 });
    await waitFor(async () => (await storedTimes('new-1')).length === 2, { what: 'the reinstated device stored' });
  }, 180_000);

  it('a revocation made while the CLI cannot reach the broker is applied by the running worker within seconds', async () => {
    const live = await device('old-1', oldSecret);
    const closed = new Promise<void>((resolve) => live.once('close', () => resolve()));
    const withoutBroker = Object.fromEntries(Object.entries(env).filter(([k]) => !k.startsWith('VIGIL_BROKER')));
    const revoked = await cli(['devices', 'revoke', 'old-1'], undefined, withoutBroker);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stderr).not.toMatch(/at the broker/);
    await closed;
    expect(await refusal('old-1', oldSecret)).toBeDefined();
  }, 180_000);

  it('broker-sync deletes the logins of devices the registry does not have, and leaves other clients alone', async () => {
    const control = await DynsecControl.connect({ url: broker.url, ...broker.admin!, timeoutMs: 10_000 });
    try {
      await new DynsecProvisioner(control, 'rpm/v1').provision('ghost-1', 'ghost-secret');
      await control.one({ command: 'createClient', username: 'someone-else', password: 'x' });
      expect(await refusal('ghost-1', 'ghost-secret')).toBeUndefined();
      const synced = await cli(['devices', 'broker-sync', '--json']);
      expect(synced.code, synced.stderr).toBe(0);
      expect(JSON.parse(synced.stdout)).toMatchObject({ deleted: 2, withoutPassword: [] });
      expect(await refusal('ghost-1', 'ghost-secret')).toBeDefined();
      expect((await control.one({ command: 'getClient', username: 'someone-else' })).error).toBeUndefined();
    } finally {
      await control.close();
    }
  }, 180_000);

  it('a provision raced by another administrator creating the same role (a worker\'s sync) still provisions the device', async () => {
    const control = await DynsecControl.connect({ url: broker.url, ...broker.admin!, timeoutMs: 10_000 });
    const other = await DynsecControl.connect({ url: broker.url, ...broker.admin!, timeoutMs: 10_000 });
    try {
      // Between the provision's read of the role ("not found") and its createRole, the other administrator's
      // reconcile creates the role and a client without a password, as a worker's periodic sync does.
      let raced = false;
      const racing: DynsecCommands = {
        run: (commands) => control.run(commands),
        one: async (command, tolerate) => {
          const answer = await control.one(command, tolerate);
          if (command.command === 'getRole' && !raced) {
            raced = true;
            await new DynsecProvisioner(other, 'rpm/v1').reconcile([{ id: 'race-1', revokedAt: null, kind: 'device' }]);
          }
          return answer;
        },
      };
      await new DynsecProvisioner(racing, 'rpm/v1').provision('race-1', 'race-secret');
      expect(raced).toBe(true);
      expect(await refusal('race-1', 'race-secret')).toBeUndefined();
    } finally {
      await control.close();
      await other.close();
    }
  }, 180_000);

  it('a device added while the broker is unreachable is added in Vigil, its secret shown, and the command fails saying how to finish', async () => {
    const unreachable = { ...env, VIGIL_BROKER_URL: 'mqtt://127.0.0.1:1', VIGIL_BROKER_CONNECT_TIMEOUT_MS: '1000' };
    const added = await cli(['devices', 'add', '--patient', patients.get('new-1')!, '--id', 'late-1', '--json'], undefined, unreachable);
    expect(added.code).toBe(1);
    const { secret } = JSON.parse(added.stdout) as { secret: string };
    expect(added.stderr).toMatch(/device late-1 is changed in Vigil but not at the broker .*vigil devices broker-password late-1/);
    const pushed = await cli(['devices', 'broker-password', 'late-1'], `${secret}\n`);
    expect(pushed.code, pushed.stderr).toBe(0);
    expect(await refusal('late-1', secret)).toBeUndefined();
  }, 180_000);
});
