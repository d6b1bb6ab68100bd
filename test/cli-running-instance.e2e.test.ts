import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { openSqlite } from '../state/index.js';
import { tempDir } from './support/temp.js';
import { CLI, startVigilProcess } from './support/vigil-process.js';

const exec = promisify(execFile);

/** A shell with no VIGIL_* variable, and no $USER or $LOGNAME (docker compose exec, systemd, cron). */
const bareEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_') && k !== 'USER' && k !== 'LOGNAME'));

async function vigil(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: { ...bareEnv, ...options.env }, cwd: options.cwd, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number | string; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/**
 * The commands that handle a patient's data and the backups act, like every other, on the Vigil running from
 * the current directory (its .vigil-instance.json), never on an empty ./data they would create.
 */
describe('patients export/erase, backup and restore beside a running Vigil', () => {
  let cwd: Awaited<ReturnType<typeof tempDir>>;
  let dataDir: string;
  let patientId: string;

  beforeAll(async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    cwd = await tempDir();
    dataDir = join(cwd.path, 'demo-data');
    const { db, registry } = openState(dataDir);
    patientId = (await registry.addPatient({ name: 'Ines Instance' })).id;
    db.close();
    // The record a running demo leaves in its working directory, and the pid file it keeps in its data dir;
    // this test's own process stands for the running Vigil (it is alive).
    const record = { pid: process.pid, mode: 'demo', dataDir, mqttPort: 1883, httpPort: 8080, topicPrefix: 'rpm/v1', startedAt: new Date().toISOString() };
    writeFileSync(join(cwd.path, '.vigil-instance.json'), JSON.stringify(record));
    writeFileSync(join(dataDir, 'vigil.pid'), `${process.pid}\n`);
  });

  afterAll(async () => {
    await cwd?.remove();
  });

  it('exports and backs up the running Vigil, and refuses to restore over it', async () => {
    const exported = await vigil(['patients', 'export', patientId, '--out', join(cwd.path, 'export')], { cwd: cwd.path });
    expect(exported.stderr).toMatch(/using data dir \.\/demo-data of the Vigil demo running here/);
    expect(exported.code, exported.stderr).toBe(0);
    expect(existsSync(join(cwd.path, 'export', 'manifest.json'))).toBe(true);

    const backup = await vigil(['backup', join(cwd.path, 'bk')], { cwd: cwd.path });
    expect(backup.stderr).toMatch(/using data dir \.\/demo-data of the Vigil demo running here/);
    expect(backup.code, backup.stderr).toBe(0);

    const restore = await vigil(['restore', join(cwd.path, 'bk'), '--replace'], { cwd: cwd.path });
    expect(restore.stderr).toMatch(/using data dir \.\/demo-data of the Vigil demo running here/);
    expect(restore.stderr).toMatch(/is running on .*demo-data: stop it before restoring/);
    expect(restore.code).toBe(1);

    // A restore into a new data dir (a new machine) is still allowed: it need not exist yet.
    const fresh = await vigil(['restore', join(cwd.path, 'bk'), '--data-dir', join(cwd.path, 'fresh')], { cwd: cwd.path });
    expect(fresh.code, fresh.stderr).toBe(0);
    expect(existsSync(join(cwd.path, 'data')), 'no empty ./data is created').toBe(false);
  }, 120_000);

  it('erases from the running Vigil, records the unix user without $USER, and refuses a patient that does not exist', async () => {
    const erased = await vigil(['patients', 'erase', patientId, '--yes'], { cwd: cwd.path });
    expect(erased.stderr).toMatch(/using data dir \.\/demo-data of the Vigil demo running here/);
    expect(erased.code, erased.stderr).toBe(0);
    const state = openSqlite(join(dataDir, 'vigil.db'));
    try {
      expect(state.prepare('SELECT count(*) AS n FROM patients WHERE id = ?').get(patientId)).toEqual({ n: 0 });
      // Finished erasures (each one also records that it started, before it deletes anything).
      const erasures = () => state.prepare("SELECT actor FROM audit_log WHERE action = 'patient.erase' AND json_extract(details, '$.started') IS NULL").all() as { actor: string }[];
      expect(erasures()).toEqual([{ actor: `cli:${userInfo().username}` }]);

      const typo = await vigil(['patients', 'erase', 'p-typo0000000', '--yes'], { cwd: cwd.path });
      expect(typo.code).toBe(1);
      expect(typo.stderr).toMatch(/patient p-typo0000000 does not exist/);
      expect(erasures(), 'no erasure is audited for a patient that does not exist').toHaveLength(1);
      expect(typo.stderr).toMatch(/add --force/);
      // --force erases all the same (for an id whose erasure left no entry here, such as one stopped before it began).
      const forced = await vigil(['patients', 'erase', 'p-typo0000000', '--yes', '--force'], { cwd: cwd.path });
      expect(forced.code, forced.stderr).toBe(0);
      expect(erasures()).toHaveLength(2);
    } finally {
      state.close();
    }
    expect(existsSync(join(cwd.path, 'data')), 'no empty ./data is created').toBe(false);
  }, 120_000);
});

/** A second `vigil start` on a data dir already served: refused before it opens anything, the first one's pid file kept. */
describe('a second start on a served data dir', () => {
  it('refuses at once and leaves the running instance its restore guard', async () => {
    const dir = await tempDir();
    const first = await startVigilProcess({ VIGIL_DATA_DIR: dir.path });
    try {
      const pidFile = join(dir.path, 'vigil.pid');
      const pidInFile = () => readFileSync(pidFile, 'utf8').split('\n')[0];
      expect(pidInFile()).toBe(String(first.child.pid));
      const second = await vigil(['start'], {
        cwd: dir.path,
        env: { VIGIL_DATA_DIR: dir.path, VIGIL_BIND_HOST: '127.0.0.1', VIGIL_MQTT_PORT: String(first.mqttPort), VIGIL_HTTP_PORT: String(first.httpPort) },
      });
      expect(second.code).toBe(1);
      expect(`${second.stdout}${second.stderr}`).toMatch(new RegExp(`a Vigil \\(pid ${first.child.pid}\\) already serves ${dir.path}`));
      expect(pidInFile()).toBe(String(first.child.pid));
      const refused = await vigil(['restore', dir.path, '--data-dir', dir.path, '--replace']);
      expect(refused.stderr).toMatch(/is running on/);
    } finally {
      first.child.kill('SIGKILL');
      await dir.remove();
    }
  }, 120_000);
});
