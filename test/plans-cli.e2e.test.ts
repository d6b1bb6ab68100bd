import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { AuditLog } from '../state/index.js';
import { tempDir } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);

async function vigil(args: string[]) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { timeout: 30_000, env: { ...process.env, VIGIL_DATA_DIR: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The built `vigil plans` commands over a data directory with a patient and a hub. */
describe('vigil plans', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let patientId: string;

  beforeAll(async () => {
    dir = await tempDir();
    const { db, registry } = openState(dir.path);
    patientId = (await registry.addPatient({ name: 'Ada Example', timeZone: 'Europe/London' })).id;
    await registry.addDevice({ patientId, id: 'hub-ada', kind: 'hub' });
    db.close();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('sets a plan from a template with an edit, adds and stops a medication, shows them, and audits each change', async () => {
    const set = await vigil(['plans', 'set', patientId, '--from', 'heart_failure', '--measure', 'weight@07:00/60', '--data-dir', dir.path]);
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain('blood_pressure 08:00,20:00; weight 07:00');
    const added = await vigil(['plans', 'add-medication', patientId, '--name', 'Furosemide', '--dose', '40 mg', '--times', '08:00', '--data-dir', dir.path]);
    const medicationId = /medication (m-[0-9a-f]{12}) added/.exec(added.stdout)?.[1];
    expect(medicationId).toBeDefined();
    const shown = await vigil(['plans', 'show', patientId, '--json', '--data-dir', dir.path]);
    const body = JSON.parse(shown.stdout) as { plan: { template: string; measurements: { type: string; times: string[] }[] }; hub: string; medications: { name: string }[] };
    expect(body).toMatchObject({ plan: { template: 'heart_failure' }, hub: 'hub-ada', medications: [{ name: 'Furosemide' }] });
    expect(body.plan.measurements.find((m) => m.type === 'weight')?.times).toEqual(['07:00']);
    expect((await vigil(['plans', 'stop-medication', patientId, medicationId!, '--data-dir', dir.path])).code).toBe(0);
    const { db } = openState(dir.path);
    const actions = new AuditLog(db).list({ patientId }).map((e) => e.action);
    db.close();
    expect(actions).toEqual(['care.medication.stop', 'care.medication.add', 'care.plan.create']);
  });

  it('refuses a bad measure spec with what is allowed, and an unknown patient with a coded error', async () => {
    const bad = await vigil(['plans', 'set', patientId, '--measure', 'weight@7am', '--data-dir', dir.path]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('blood_pressure@08:00,20:00');
    const unknown = await vigil(['plans', 'set', 'p-nobody', '--from', 'copd', '--data-dir', dir.path]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('p-nobody does not exist');
  });
});
