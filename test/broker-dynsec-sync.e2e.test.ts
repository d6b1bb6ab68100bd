import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../app/config.js';
import { createLogger } from '../app/logger.js';
import { openState } from '../app/state.js';
import { startVigil, type Vigil } from '../app/vigil.js';
import { DynsecControl } from '../gateway/index.js';
import { startMosquitto, type MosquittoInstance } from './support/mosquitto.js';
import { tempDir } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

interface Worker {
  readonly dir: Awaited<ReturnType<typeof tempDir>>;
  readonly env: Record<string, string>;
  vigil?: Vigil;
}

/**
 * Two workers on one Mosquitto with its dynamic-security plugin, each with a registry of its own (state is per
 * worker until it is shared): only the one with VIGIL_BROKER_DYNSEC_SYNC on pushes device logins, and
 * `vigil simulate` on its data dir gives the simulated fleet logins at the broker.
 */
describe('one place pushes device logins to Mosquitto', () => {
  let broker: MosquittoInstance;
  let admin: DynsecControl;
  const workers: Worker[] = [];

  async function worker(name: string, deviceId: string, extra: Record<string, string>): Promise<Worker> {
    const dir = await tempDir(`vigil-dynsec-${name}-`);
    const { db, registry } = openState(dir.path);
    await registry.addDevice({ patientId: (await registry.addPatient({ name: `Sync ${name}` })).id, id: deviceId });
    db.close();
    const adminFile = join(dir.path, 'dynsec-admin-password');
    await writeFile(adminFile, 'admin-secret-2\n');
    const env = {
      VIGIL_DATA_DIR: dir.path,
      VIGIL_BROKER_URL: broker.url,
      VIGIL_BROKER_CLIENT_ID: `sync-${name}`,
      // One group, as workers of one deployment share it: the workers' role at the broker names it.
      VIGIL_BROKER_SHARE_GROUP: 'g-sync',
      VIGIL_BROKER_USERNAME: 'vigil-worker',
      VIGIL_BROKER_PASSWORD: 'worker-secret-2',
      VIGIL_BROKER_DYNSEC: 'true',
      VIGIL_BROKER_DYNSEC_USERNAME: 'admin',
      VIGIL_BROKER_DYNSEC_PASSWORD_FILE: adminFile,
      ...extra,
    };
    const w: Worker = { dir, env };
    workers.push(w);
    const config = loadConfig({ VIGIL_BIND_HOST: '127.0.0.1', VIGIL_HTTP_PORT: '0', VIGIL_LOG_LEVEL: process.env.VIGIL_TEST_LOG ?? 'silent', ...env });
    w.vigil = await startVigil(config, createLogger(config.logLevel));
    return w;
  }

  async function cli(w: Worker, args: string[]) {
    return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...w.env, VIGIL_LOG_LEVEL: 'warn' }, timeout: 90_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
  }

  const clientNames = async () => {
    const [listed] = await admin.run([{ command: 'listClients', verbose: false, count: -1, offset: 0 }]);
    return (listed?.data as { clients?: string[] } | undefined)?.clients ?? [];
  };

  beforeAll(async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    broker = await startMosquitto({ dynsec: { adminPassword: 'admin-secret-2' } });
    admin = await DynsecControl.connect({ url: broker.url, username: 'admin', password: 'admin-secret-2', timeoutMs: 10_000 });
  }, 60_000);

  afterAll(async () => {
    for (const w of workers.reverse()) {
      await w.vigil?.close(2_000).catch(() => undefined);
      await w.dir.remove();
    }
    await admin?.close();
    await broker?.stop();
  });

  it('vigil simulate on the syncing worker\'s data dir gives its devices logins at the broker: the scenario passes --verify', async () => {
    // The syncing worker alone first: a stopped worker's persistent session would keep its share of the group's messages.
    const a = await worker('a', 'sync-dev-a', {});
    const result = await cli(a, ['simulate', '--scenario', 'hypertensive-crisis', '--verify', '--timeout', '30', '--url', broker.url]);
    expect(result.stdout, result.stderr).toMatch(/PASS/);
    expect(result.code).toBe(0);
    expect((await clientNames()).some((name) => name.startsWith('sim-hypertensive-crisis-'))).toBe(true);
  }, 120_000);

  it('two workers started: only the one with VIGIL_BROKER_DYNSEC_SYNC on provisions, and the other\'s CLI pushes no secret', async () => {
    const b = await worker('b', 'sync-dev-b', { VIGIL_BROKER_DYNSEC_SYNC: 'off' });
    const names = await clientNames();
    expect(names).toEqual(expect.arrayContaining(['vigil-worker', 'sync-dev-a']));
    expect(names).not.toContain('sync-dev-b');

    const patientId = JSON.parse((await cli(b, ['patients', 'add', '--name', 'Only in b', '--json'])).stdout).id as string;
    const added = await cli(b, ['devices', 'add', '--patient', patientId, '--id', 'sync-dev-b2', '--json']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stderr).toMatch(/VIGIL_BROKER_DYNSEC_SYNC=off/);
    expect(await clientNames()).not.toContain('sync-dev-b2');
    const sync = await cli(b, ['devices', 'broker-sync']);
    expect(sync.code).toBe(1);
    expect(sync.stderr).toMatch(/VIGIL_BROKER_DYNSEC_SYNC=off/);
  }, 180_000);

  it('vigil simulate on a data dir that does not sync is refused, saying where to run it', async () => {
    const b = workers[1]!;
    const result = await cli(b, ['simulate', '--scenario', 'hypertensive-crisis', '--timeout', '5']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/VIGIL_BROKER_DYNSEC_SYNC=off/);
  }, 60_000);
});
