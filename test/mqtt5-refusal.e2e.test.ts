import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { tempDir, waitFor } from './support/temp.js';
import { startVigilProcess, type VigilProcess } from './support/vigil-process.js';

const exec = promisify(execFile);

async function refusedByProtocolVersion(httpPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('vigil_mqtt_connections_refused_total{reason="protocol_version"}'));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/**
 * Issue 14, item 3: the embedded broker (aedes 1.x) does not speak MQTT 5. Vigil used to let aedes refuse it in
 * silence; now the connection's guard answers CONNACK 1 before aedes parses the CONNECT (gateway/stream-guard.ts),
 * and the refusal is logged (address, protocol level, reason; no credentials) and counted.
 */
describe('an MQTT 5 client', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: VigilProcess;
  let child: ChildProcess;
  const device = { id: 'mqtt5-cuff', secret: '' };

  beforeAll(async () => {
    dir = await tempDir();
    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'MQTT 5 Patient' });
    device.secret = (await registry.addDevice({ patientId: patient.id, id: device.id })).secret;
    db.close();
    server = await startVigilProcess({ VIGIL_DATA_DIR: dir.path });
    child = server.child;
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await dir?.remove();
  });

  it('is refused with valid credentials, and the refusal is logged and counted with its reason', async () => {
    expect(await refusedByProtocolVersion(server.httpPort)).toBe(0);
    const client = connect(`mqtt://127.0.0.1:${server.mqttPort}`, {
      protocolVersion: 5,
      clientId: device.id,
      username: device.id,
      password: device.secret,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
    });
    const outcome = await new Promise<string>((resolve) => {
      client.once('connect', () => resolve('connected'));
      client.once('error', (err) => resolve(`error: ${err.message}`));
      client.once('close', () => resolve('closed'));
    });
    await client.endAsync(true);
    expect(outcome).not.toBe('connected');

    await waitFor(async () => (await refusedByProtocolVersion(server.httpPort)) === 1 || undefined, { what: 'the refusal counted', timeoutMs: 10_000 });
    await waitFor(() => /"reason":"protocol_version"/.test(server.output()) || undefined, { what: 'the refusal logged', timeoutMs: 10_000 });
    const line = server.output().split('\n').find((l) => l.includes('"reason":"protocol_version"'))!;
    expect(line).toContain('"protocolVersion":5');
    expect(line).toContain('"remote":"');
    expect(line).toMatch(/3\.1\.1/);
    expect(line).not.toContain(device.secret);
  });

  it('mosquitto_pub -V mqttv5 is refused and counted; the same device over MQTT 3.1.1 connects', async () => {
    const before = await refusedByProtocolVersion(server.httpPort);
    const v5 = await exec('mosquitto_pub', ['-V', 'mqttv5', '-h', '127.0.0.1', '-p', String(server.mqttPort), '-i', device.id, '-u', device.id, '-P', device.secret, '-q', '1', '-t', `rpm/v1/devices/${device.id}/status`, '-m', '{"online":true}'], { timeout: 15_000 }).then(
      () => 0,
      (err: { code: number }) => err.code,
    );
    expect(v5).not.toBe(0);
    await waitFor(async () => (await refusedByProtocolVersion(server.httpPort)) === before + 1 || undefined, { what: 'the second refusal counted', timeoutMs: 10_000 });

    const v311 = await exec('mosquitto_pub', ['-V', 'mqttv311', '-h', '127.0.0.1', '-p', String(server.mqttPort), '-i', device.id, '-u', device.id, '-P', device.secret, '-q', '1', '-t', `rpm/v1/devices/${device.id}/status`, '-m', '{"online":true}'], { timeout: 15_000 }).then(
      () => 0,
      (err: { code: number }) => err.code,
    );
    expect(v311).toBe(0);
    expect(await refusedByProtocolVersion(server.httpPort)).toBe(before + 1);
  });
});
