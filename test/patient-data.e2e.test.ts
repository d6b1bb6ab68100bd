import { execFile, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { SqliteStore } from '../ingest/index.js';
import { openSqlite } from '../state/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { CLI, startVigilProcess } from './support/vigil-process.js';

const run = promisify(execFile);

function vigil(args: string[]): Promise<{ code: number; out: string }> {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' } }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

/** `vigil patients export` and `vigil patients erase` from the command line, while Vigil runs and the patient's device publishes. */
describe('a patient erased while the server runs', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('explains the commands with an example', async () => {
    for (const args of [['backup', '--help'], ['restore', '--help'], ['patients', 'export', '--help'], ['patients', 'erase', '--help']]) {
      const help = await vigil(args);
      expect(help.code).toBe(0);
      expect(help.out).toMatch(/Examples?:\n {2}vigil /);
    }
  });

  it('exports, then erases: no reading, alert or name is left, and readings sent afterwards are refused', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'Nadia Nameless' });
    const { device, secret } = await registry.addDevice({ patientId: patient.id, id: 'hr-nadia' });
    db.close();
    const server = await startVigilProcess({ VIGIL_DATA_DIR: dir.path, VIGIL_DEVICE_RATE: '1000', VIGIL_DEVICE_BURST: '1000' });
    let child: ChildProcess | undefined = server.child;
    cleanups.push(() => void child?.kill('SIGKILL'));

    const client = connect(`mqtt://127.0.0.1:${server.mqttPort}`, { clientId: device.id, username: device.id, password: secret, reconnectPeriod: 200 });
    cleanups.push(() => client.endAsync(true));
    client.on('error', () => undefined);
    let n = 0;
    let publishing = true;
    const publisher = (async () => {
      for (; publishing && n < 100_000; n++) {
        // A pulse of 140 opens an alert (pulse.extreme).
        const payload = JSON.stringify({ type: 'heart_rate', time: new Date(Date.now() - 60_000 + n).toISOString(), value: n % 10 === 0 ? 140 : 70, id: `m${n}` });
        await client.publishAsync(`rpm/v1/devices/${device.id}/readings`, payload, { qos: 1 }).catch(() => undefined);
      }
    })();
    const state = openSqlite(join(dir.path, 'vigil.db'));
    await waitFor(() => (state.prepare('SELECT count(*) AS n FROM alerts WHERE patient_id = ?').get(patient.id) as { n: number }).n > 0 && n > 200, { what: 'readings and an alert' });

    const out = join(dir.path, 'export');
    const exported = await vigil(['patients', 'export', patient.id, '--out', out, '--data-dir', dir.path]);
    expect(exported.code).toBe(0);
    expect(await readFile(join(out, 'patient.csv'), 'utf8')).toContain('Nadia Nameless');
    expect((await readFile(join(out, 'readings-heart_rate.csv'), 'utf8')).split('\r\n').length).toBeGreaterThan(100);

    expect((await vigil(['patients', 'erase', patient.id, '--data-dir', dir.path])).code).toBe(2);
    const erased = await vigil(['patients', 'erase', patient.id, '--yes', '--data-dir', dir.path]);
    expect(erased.out).toMatch(/erased: \d+ rows/);
    expect(erased.code).toBe(0);
    const sentBefore = n;
    await waitFor(() => n > sentBefore + 100, { what: 'readings sent after the erasure' });
    publishing = false;
    await publisher;

    const exited = new Promise<number | null>((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    child = undefined;

    const store = new SqliteStore(dir.path);
    cleanups.push(() => store.close());
    expect(await store.queryRaw({ patientId: patient.id, type: 'heart_rate', from: 0, to: Date.now() + 86_400_000 })).toEqual([]);
    const tables = (state.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN ('audit_log', 'erasure_key')").all() as { name: string }[]).map((t) => t.name);
    for (const table of tables) {
      const text = JSON.stringify(state.prepare(`SELECT * FROM ${table}`).all());
      expect(text, table).not.toContain(patient.id);
      expect(text, table).not.toContain('Nadia Nameless');
    }
    // The device's readings after the erasure were refused as unassigned (and recorded without a patient).
    expect(state.prepare("SELECT count(*) AS n FROM rejections WHERE device_id = ? AND code = 'VIGIL_ERR_DEVICE_UNASSIGNED'").get(device.id)).not.toEqual({ n: 0 });
    const actions = (state.prepare('SELECT action, patient_id FROM audit_log ORDER BY id').all() as { action: string; patient_id: string | null }[]);
    expect(actions).toContainEqual({ action: 'patient.export', patient_id: patient.id });
    expect(actions).toContainEqual({ action: 'patient.erase', patient_id: null });
    state.close();
  });
});
