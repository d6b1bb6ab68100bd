import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '..');
const hasCompose = await exec('docker-compose', ['version']).then(
  () => true,
  () => false,
);

describe('docker-compose.yml', () => {
  // docker-compose 1.29 (Debian; .ci/run installs it) validates the file without a Docker engine.
  it.skipIf(!hasCompose)('is valid for docker-compose config', async () => {
    await expect(exec('docker-compose', ['config', '-q'], { cwd: root })).resolves.toBeDefined();
  });

  it('mounts only files that exist in deploy/, and every secret file it reads is one the quick start creates', async () => {
    const compose = await readFile(join(root, 'docker-compose.yml'), 'utf8');
    const mounted = [...compose.matchAll(/^\s*- \.\/(deploy\/[^:]+):/gm)].map((m) => m[1]!);
    expect(mounted.length).toBeGreaterThanOrEqual(4);
    for (const path of mounted) expect(existsSync(join(root, path)), path).toBe(true);

    const guide = await readFile(join(root, 'docs', 'operations.md'), 'utf8');
    const secretFiles = [...compose.matchAll(/^\s{4}file: \.\/(secrets\/\S+)$/gm)].map((m) => m[1]!);
    expect(secretFiles.length).toBeGreaterThanOrEqual(5);
    for (const file of secretFiles) expect(guide, file).toContain(file);
  });

  it('publishes the TLS port with the certificate and key mounted, and checks health before dependants start', async () => {
    const compose = await readFile(join(root, 'docker-compose.yml'), 'utf8');
    expect(compose).toMatch(/^\s+- "8883:8883"$/m);
    expect(compose).toMatch(/VIGIL_TLS_CERT: \/run\/secrets\/tls_cert/);
    expect(compose).toMatch(/VIGIL_TLS_KEY: \/run\/secrets\/tls_key/);
    expect(compose.match(/condition: service_healthy/g)?.length).toBe(3);
    expect(compose).not.toMatch(/PASSWORD: \$\{|TOKEN: \$\{/);
  });
});

describe('deploy/compose.cluster.yml', () => {
  const file = join(root, 'deploy', 'compose.cluster.yml');

  it.skipIf(!hasCompose)('is valid for docker-compose config', async () => {
    await expect(exec('docker-compose', ['-f', file, 'config', '-q'], { cwd: root })).resolves.toBeDefined();
  });

  it.skipIf(!hasCompose)('runs two workers with their own client ids and data volumes on Mosquitto with dynamic security, every secret from a file', async () => {
    const { stdout } = await exec('docker-compose', ['-f', file, 'config'], { cwd: root });
    const workers = [...stdout.matchAll(/VIGIL_BROKER_CLIENT_ID: (\S+)/g)].map((m) => m[1]);
    expect(workers).toEqual(['vigil-worker-1', 'vigil-worker-2']);
    expect(stdout.match(/VIGIL_BROKER_DYNSEC: 'true'|VIGIL_BROKER_DYNSEC: "true"/g)?.length).toBe(2);
    // Exactly one worker pushes device logins to the broker.
    expect(stdout.match(/VIGIL_BROKER_DYNSEC_SYNC: 'off'|VIGIL_BROKER_DYNSEC_SYNC: "off"|VIGIL_BROKER_DYNSEC_SYNC: off/g)?.length).toBe(1);
    expect(stdout).toMatch(/- vigil-1-data:\/data/);
    expect(stdout).toMatch(/- vigil-2-data:\/data/);
    expect(stdout).toMatch(/image: eclipse-mosquitto:/);
    expect(stdout).not.toMatch(/(PASSWORD|TOKEN|SECRET): (?!\/run\/secrets)/);
    expect(stdout.match(/condition: service_healthy/g)?.length).toBe(6);
  });

  it.skipIf(!hasCompose)('runs PostgreSQL with its password from a file, a volume and a TCP health check, and gives every worker its URL', async () => {
    const { stdout } = await exec('docker-compose', ['-f', file, 'config'], { cwd: root });
    const postgres = serviceBlock(stdout, 'postgres');
    expect(postgres).toMatch(/image: postgres:15$/m);
    expect(postgres).toMatch(/POSTGRES_PASSWORD_FILE: \/run\/secrets\/postgres_password$/m);
    expect(postgres).toMatch(/- source: postgres_password$/m);
    expect(postgres).toMatch(/- postgres-data:\/var\/lib\/postgresql\/data/);
    // Over TCP, not the socket the image's temporary set-up server listens on.
    expect(postgres).toMatch(/pg_isready -h 127\.0\.0\.1 /);
    expect(postgres).not.toMatch(/ports:/);
    const workers = [...stdout.matchAll(/^ {2}(vigil-\d+):$/gm)].map((m) => m[1]!);
    expect(workers).toEqual(['vigil-1', 'vigil-2']);
    for (const worker of workers) {
      const block = serviceBlock(stdout, worker);
      expect(block, worker).toMatch(/VIGIL_DATABASE_URL_FILE: \/run\/secrets\/vigil_database_url$/m);
      expect(block, worker).toMatch(/- source: vigil_database_url$/m);
      expect(block, worker).toMatch(/^ {6}postgres:\n {8}condition: service_healthy$/m);
    }
  });

  it('mounts only files that exist in deploy/, and every secret file it reads is one the deployment guide creates', async () => {
    const compose = await readFile(file, 'utf8');
    const mounted = [...compose.matchAll(/^\s*- \.\/([^:]+):/gm)].map((m) => m[1]!);
    expect(mounted.length).toBeGreaterThanOrEqual(3);
    for (const path of mounted) expect(existsSync(join(root, 'deploy', path)), path).toBe(true);
    const guide = await readFile(join(root, 'docs', 'deployment.md'), 'utf8');
    const secretFiles = [...compose.matchAll(/^\s{4}file: \.\.\/(secrets\/\S+)$/gm)].map((m) => m[1]!);
    expect(secretFiles.length).toBeGreaterThanOrEqual(6);
    for (const secret of secretFiles) expect(guide, secret).toContain(secret);
    // How to write the database URL secret: the compose network's host name and a TLS mode Vigil accepts.
    expect(guide).toContain("printf 'postgres://vigil:%s@postgres:5432/vigil?sslmode=disable\\n' \"$(cat secrets/postgres_password)\" > secrets/vigil_database_url");
  });
});

/** One service of a `docker-compose config` answer: its lines up to the next service (two-space indent). */
function serviceBlock(config: string, name: string): string {
  const services = config.slice(config.indexOf('\nservices:\n'));
  const start = services.indexOf(`\n  ${name}:\n`);
  if (start < 0) throw new Error(`no service ${name}`);
  const rest = services.slice(start + 1);
  const end = rest.slice(1).search(/\n {0,2}\S/);
  return end < 0 ? rest : rest.slice(0, end + 2);
}
