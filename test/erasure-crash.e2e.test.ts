import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { SqliteStore } from '../ingest/index.js';
import { openSqlite } from '../state/index.js';
import { reading } from './support/readings.js';
import { tempDir, waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const run = promisify(execFile);

function vigil(args: string[]): Promise<{ code: number; out: string }> {
  return run(process.execPath, [CLI, ...args], { env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' } }).then(
    ({ stdout, stderr }) => ({ code: 0, out: stdout + stderr }),
    (err: { code?: number; stdout?: string; stderr?: string }) => ({ code: err.code ?? 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}` }),
  );
}

/** `vigil patients erase` killed after it deleted the registry entry and before it erased the readings. */
describe('an erasure killed midway', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('is in the audit log already, and running it again without --force finishes it', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const { db, registry } = openState(dir.path);
    const patient = await registry.addPatient({ name: 'Killian Killed' });
    db.close();
    const store = new SqliteStore(dir.path);
    await store.write(Array.from({ length: 20 }, (_, i) => reading({ patientId: patient.id, deviceId: 'cuff-k', time: Date.now() - 3_600_000 + i * 1000, msgId: `k${i}` })));
    await store.close();

    const erase = spawn(process.execPath, [CLI, 'patients', 'erase', patient.id, '--yes', '--data-dir', dir.path], { env: { ...process.env, VIGIL_LOG_LEVEL: 'silent' }, stdio: 'ignore' });
    const exited = new Promise((resolve) => erase.once('exit', resolve));
    cleanups.push(() => void erase.kill('SIGKILL'));
    const state = openSqlite(join(dir.path, 'vigil.db'));
    cleanups.push(() => void state.close());
    // The registry entry goes first; the command then waits for a running server to settle before the readings.
    await waitFor(() => state.prepare('SELECT 1 FROM patients WHERE id = ?').get(patient.id) === undefined, { intervalMs: 10, what: 'the registry entry erased' });
    erase.kill('SIGKILL');
    await exited;

    // Rows of the patient were deleted: the audit log says so, under the pseudonym.
    const entries = state.prepare("SELECT target, patient_id FROM audit_log WHERE action = 'patient.erase'").all() as { target: string; patient_id: string | null }[];
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ target: expect.stringMatching(/^erased:[0-9a-f]{64}$/), patient_id: null });

    const again = await vigil(['patients', 'erase', patient.id, '--yes', '--data-dir', dir.path]);
    expect(again.out).toMatch(/erased: \d+ rows/);
    expect(again.code).toBe(0);
    const after = new SqliteStore(dir.path);
    cleanups.push(() => after.close());
    expect(await after.queryRaw({ patientId: patient.id, type: 'blood_pressure', from: 0, to: Date.now() + 86_400_000 })).toEqual([]);
  });
});
