import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const exec = promisify(execFile);

describe('MQTT over TLS', () => {
  let certDir: Awaited<ReturnType<typeof tempDir>>;
  let t: TestVigil;
  let ca: Buffer;

  beforeAll(async () => {
    certDir = await tempDir('vigil-tls-');
    const key = join(certDir.path, 'key.pem');
    const cert = join(certDir.path, 'cert.pem');
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']);
    ca = await readFile(cert);
    t = await startTestVigil({ VIGIL_TLS_CERT: cert, VIGIL_TLS_KEY: key, VIGIL_MQTTS_PORT: '0' });
  });
  afterAll(async () => {
    await t?.stop();
    await certDir?.remove();
  });

  it('accepts a device over mqtts:// that trusts the certificate, and stores its reading', async () => {
    const dev = await t.provision();
    const client = await t.connectDevice(dev, { url: `mqtts://127.0.0.1:${t.vigil.mqttsPort}`, ca });
    await client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify({ type: 'spo2', time: new Date().toISOString(), value: 95, pulse: 80 }), { qos: 1 });
    await waitFor(async () => (await t.vigil.ingest.store.queryRaw({ patientId: dev.patientId, type: 'spo2', from: 0, to: Date.now() + 1000 })).length === 1);
  });

  it('fails the handshake for a client that does not trust the certificate', async () => {
    const client = connect(`mqtts://127.0.0.1:${t.vigil.mqttsPort}`, { reconnectPeriod: 0, connectTimeout: 5000 });
    const error = await new Promise<Error>((resolve) => client.once('error', resolve));
    client.end(true);
    expect(error.message).toMatch(/self[- ]signed|certificate/i);
  });
});

describe('mutual TLS (VIGIL_TLS_CA)', () => {
  let certDir: Awaited<ReturnType<typeof tempDir>>;
  let t: TestVigil;
  const files: Record<string, Buffer> = {};

  beforeAll(async () => {
    certDir = await tempDir('vigil-mtls-');
    const p = (name: string) => join(certDir.path, name);
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '1', '-subj', '/CN=vigil-test-ca']);
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.pem'), '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1']);
    await exec('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('client.key'), '-out', p('client.csr'), '-subj', '/CN=device']);
    await exec('openssl', ['x509', '-req', '-in', p('client.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('client.pem'), '-days', '1']);
    for (const name of ['server.pem', 'client.pem', 'client.key']) files[name] = await readFile(p(name));
    t = await startTestVigil({ VIGIL_TLS_CERT: p('server.pem'), VIGIL_TLS_KEY: p('server.key'), VIGIL_TLS_CA: p('ca.pem'), VIGIL_MQTTS_PORT: '0' });
  });
  afterAll(async () => {
    await t?.stop();
    await certDir?.remove();
  });

  it('admits a device with a client certificate from the CA and turns away one without', async () => {
    const dev = await t.provision();
    const url = `mqtts://127.0.0.1:${t.vigil.mqttsPort}`;
    const client = await t.connectDevice(dev, { url, ca: files['server.pem'], cert: files['client.pem'], key: files['client.key'] });
    expect(client.connected).toBe(true);
    const refused = await t
      .connectDevice(dev, { url, ca: files['server.pem'], clientId: `${dev.deviceId}.nocert` })
      .then(() => 'connected', (err: Error) => err.message);
    expect(refused).not.toBe('connected');
  });
});

