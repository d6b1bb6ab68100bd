import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);

/**
 * `vigil start` as a user runs it, on a data directory holding one damaged file. It either starts (what it can
 * recover from) or stops with a coded message, never with a stack trace.
 */
function start(env: Record<string, string>, timeoutMs = 40_000): Promise<{ code: number | null; stderr: string; stdout: string; started: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'start'], {
      env: { ...process.env, VIGIL_BIND_HOST: '127.0.0.1', VIGIL_MQTT_PORT: '0', VIGIL_HTTP_PORT: '0', VIGIL_LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let started = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (!started && stdout.includes('"msg":"Vigil started"')) {
        started = true;
        child.kill('SIGTERM');
      }
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, stdout, started });
    });
  });
}

function expectCodedFailure(result: Awaited<ReturnType<typeof start>>, code: string, mentions: RegExp): void {
  expect(result.started).toBe(false);
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBeNull();
  expect(result.stderr).toContain(`[${code}]`);
  expect(result.stderr).toMatch(mentions);
  expect(result.stderr + result.stdout).not.toContain('    at ');
}

describe('issue 13, item 13: start-up on damaged files', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let n = 0;
  const dataDir = async () => {
    const d = join(dir.path, `data-${++n}`);
    await mkdir(d, { recursive: true });
    return d;
  };
  let cert: string;
  let key: string;
  let otherKey: string;

  beforeAll(async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    dir = await tempDir();
    cert = join(dir.path, 'cert.pem');
    key = join(dir.path, 'key.pem');
    otherKey = join(dir.path, 'other-key.pem');
    await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost']);
    await exec('openssl', ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', otherKey]);
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('a state database that is not SQLite', async () => {
    const d = await dataDir();
    await writeFile(join(d, 'vigil.db'), Buffer.alloc(8192, 'not a database '));
    expectCodedFailure(await start({ VIGIL_DATA_DIR: d }), 'VIGIL_ERR_DATA_CORRUPT', /vigil\.db/);
  });

  it('a state database whose schema page is damaged', async () => {
    const d = await dataDir();
    const db = new Database(join(d, 'vigil.db'));
    db.exec('CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1);');
    db.close();
    const file = await open(join(d, 'vigil.db'), 'r+');
    await file.write(Buffer.alloc(1000, 0xa5), 0, 1000, 100); // past the 100-byte header: the schema's page
    await file.close();
    expectCodedFailure(await start({ VIGIL_DATA_DIR: d }), 'VIGIL_ERR_DATA_CORRUPT', /vigil\.db/);
  });

  it('an embedded reading store that is not SQLite', async () => {
    const d = await dataDir();
    await writeFile(join(d, 'readings.db'), Buffer.alloc(8192, 'garbage '));
    expectCodedFailure(await start({ VIGIL_DATA_DIR: d }), 'VIGIL_ERR_DATA_CORRUPT', /readings\.db/);
  });

  it('an outbox that is a file, not a directory', async () => {
    const d = await dataDir();
    await writeFile(join(d, 'outbox'), 'x');
    expectCodedFailure(await start({ VIGIL_DATA_DIR: d }), 'VIGIL_ERR_DATA_CORRUPT', /outbox/);
  });

  it('a TLS certificate that is not PEM, one that cannot be read, and a key that does not match', async () => {
    const garbage = join(dir.path, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    const tls = (c: string, k: string) => ({ VIGIL_TLS_CERT: c, VIGIL_TLS_KEY: k, VIGIL_MQTTS_PORT: '0' });
    expectCodedFailure(await start({ VIGIL_DATA_DIR: await dataDir(), ...tls(garbage, key) }), 'VIGIL_ERR_CONFIG', /VIGIL_TLS_CERT/);
    expectCodedFailure(await start({ VIGIL_DATA_DIR: await dataDir(), ...tls(cert, dir.path) }), 'VIGIL_ERR_CONFIG', /VIGIL_TLS_KEY/);
    expectCodedFailure(await start({ VIGIL_DATA_DIR: await dataDir(), ...tls(cert, otherKey) }), 'VIGIL_ERR_CONFIG', /VIGIL_TLS_KEY.*does not match/);
    expectCodedFailure(await start({ VIGIL_DATA_DIR: await dataDir(), ...tls(cert, key), VIGIL_TLS_CA: garbage }), 'VIGIL_ERR_CONFIG', /VIGIL_TLS_CA/);
  });

  it('starts on a damaged outbox segment and checkpoint: sets the damage aside and reports it', async () => {
    const d = await dataDir();
    await mkdir(join(d, 'outbox'));
    await writeFile(join(d, 'outbox', `${'1'.padStart(16, '0')}.log`), 'deadbeef {"not":"a reading"\n\u0000\u0001garbage\n');
    await writeFile(join(d, 'outbox', 'checkpoint.json'), '{"segment": 1, "off');
    const result = await start({ VIGIL_DATA_DIR: d });
    expect(result.started).toBe(true);
    expect(result.stderr).not.toContain('    at ');
    expect(result.stdout).toMatch(/"level":50/);
  });
});
