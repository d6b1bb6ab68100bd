import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import { loadConfig } from '../../app/config.js';
import { createLogger } from '../../app/logger.js';
import { startVigil, type Vigil, type VigilHooks } from '../../app/vigil.js';
import { tempDir } from './temp.js';

/** Vigil with its embedded broker, whose MQTT port is known (worker mode has none). */
export type EmbeddedVigil = Vigil & { readonly mqttPort: number };

export interface TestVigil {
  readonly vigil: EmbeddedVigil;
  readonly dataDir: string;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  /** Provisions a patient with one device; returns the device's credentials. */
  provision(deviceId?: string): Promise<{ patientId: string; deviceId: string; secret: string }>;
  /** Connects an MQTT client as a device (persistent session, client id = device id unless given). */
  connectDevice(creds: { deviceId: string; secret: string }, options?: IClientOptions & { url?: string }): Promise<MqttClient>;
  stop(): Promise<void>;
}

let counter = 0;

/** Configuration for Vigil in a test: loopback, free ports for what it listens on, logs only if VIGIL_TEST_LOG asks. */
export function testConfig(env: Record<string, string>): ReturnType<typeof loadConfig> {
  return loadConfig({ VIGIL_BIND_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent', ...env });
}

/** Vigil in this process on free loopback ports with its own data dir (and InfluxDB when `influxUrl` is given). */
export async function startTestVigil(env: Record<string, string> = {}, existingDataDir?: string, hooks: VigilHooks & { readonly log?: NodeJS.WritableStream } = {}): Promise<TestVigil> {
  const dir = existingDataDir ? undefined : await tempDir();
  const dataDir = existingDataDir ?? dir!.path;
  const config = testConfig({ VIGIL_DATA_DIR: dataDir, VIGIL_MQTT_PORT: '0', ...env });
  const started = await startVigil(config, createLogger(config.logLevel, hooks.log), hooks);
  if (started.mqttPort === undefined) {
    await started.close(0);
    throw new Error('startTestVigil runs the embedded broker: start worker mode with startVigil');
  }
  const vigil = started as EmbeddedVigil;
  const clients: MqttClient[] = [];
  const mqttUrl = `mqtt://127.0.0.1:${vigil.mqttPort}`;
  return {
    vigil,
    dataDir,
    mqttUrl,
    httpUrl: `http://127.0.0.1:${vigil.httpPort}`,
    async provision(deviceId) {
      const patient = await vigil.registry.addPatient({ name: `Test Patient ${++counter}` });
      const { device, secret } = await vigil.registry.addDevice({ patientId: patient.id, id: deviceId });
      return { patientId: patient.id, deviceId: device.id, secret };
    },
    async connectDevice(creds, options = {}) {
      const { url, ...rest } = options;
      const client = connect(url ?? mqttUrl, {
        clientId: creds.deviceId,
        username: creds.deviceId,
        password: creds.secret,
        clean: false,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        ...rest,
      });
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('connection closed before CONNACK')));
      });
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await vigil.close(2_000);
      await dir?.remove();
    },
  };
}

/** Collects the JSON messages a device receives on its errors topic. */
export async function listenErrors(client: MqttClient, deviceId: string): Promise<{ ref: string; code: string; message: string }[]> {
  const received: { ref: string; code: string; message: string }[] = [];
  client.on('message', (topic, payload) => {
    if (topic.endsWith(`/devices/${deviceId}/errors`)) received.push(JSON.parse(payload.toString('utf8')));
  });
  await client.subscribeAsync(`rpm/v1/devices/${deviceId}/errors`, { qos: 1 });
  return received;
}
