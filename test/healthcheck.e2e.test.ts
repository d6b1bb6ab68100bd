import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.js';
import { tempDir } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const exec = promisify(execFile);
// What the container image's HEALTHCHECK runs (needs `npm run build`).
const HEALTHCHECK = join(import.meta.dirname, '..', 'dist', 'app', 'healthcheck.js');

/** Runs the health check as Docker does, with the container's VIGIL_* variables; its exit code and message. */
async function healthcheck(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  const vigilFree = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_')));
  try {
    const { stderr } = await exec(process.execPath, [HEALTHCHECK], { env: { ...vigilFree, ...env }, timeout: 20_000 });
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stderr: e.stderr ?? '' };
  }
}

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  // Named for the compose service, not for the loopback address the health check connects to.
  await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=vigil', '-addext', 'subjectAltName=DNS:vigil']);
  return { cert, key };
}

describe('the container health check (dist/app/healthcheck.js)', () => {
  let certs: Awaited<ReturnType<typeof tempDir>>;
  let https: TestVigil;
  let http: TestVigil;
  let own: { cert: string; key: string };
  let impostor: { cert: string; key: string };

  beforeAll(async () => {
    certs = await tempDir('vigil-healthcheck-');
    own = await selfSigned(certs.path, 'vigil');
    impostor = await selfSigned(certs.path, 'other');
    https = await startTestVigil({ VIGIL_TLS_CERT: own.cert, VIGIL_TLS_KEY: own.key, VIGIL_HTTP_TLS: 'true', VIGIL_MQTTS_PORT: '0' });
    http = await startTestVigil();
  });
  afterAll(async () => {
    await https?.stop();
    await http?.stop();
    await certs?.remove();
  });

  const tlsEnv = (port: number, tls: { cert: string; key: string }) => ({
    VIGIL_HTTP_PORT: String(port),
    VIGIL_TLS_CERT: tls.cert,
    VIGIL_TLS_KEY: tls.key,
    VIGIL_HTTP_TLS: 'true',
  });

  it('passes against a dashboard that serves HTTPS with its own certificate, reached on loopback', async () => {
    expect(await healthcheck(tlsEnv(https.vigil.httpPort, own))).toEqual({ code: 0, stderr: '' });
  });

  it('passes over plain HTTP', async () => {
    expect(await healthcheck({ VIGIL_HTTP_PORT: String(http.vigil.httpPort) })).toEqual({ code: 0, stderr: '' });
  });

  it('fails when the server on that port presents another certificate', async () => {
    const result = await healthcheck(tlsEnv(https.vigil.httpPort, impostor));
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/vigil healthcheck: .*(self[- ]signed|certificate)/i);
  });

  it('fails when nothing listens', async () => {
    const result = await healthcheck({ VIGIL_HTTP_PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/vigil healthcheck: .*ECONNREFUSED/);
  });
});
