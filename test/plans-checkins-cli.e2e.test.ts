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

/** The built `vigil plans set-checkins` over a data directory with a patient. */
describe('vigil plans set-checkins', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let patientId: string;

  beforeAll(async () => {
    dir = await tempDir();
    const { db, registry } = openState(dir.path);
    patientId = (await registry.addPatient({ name: 'Ada Example', timeZone: 'Europe/London' })).id;
    db.close();
  });
  afterAll(async () => {
    await dir?.remove();
  });

  it('sets check-ins from a template, edits their days, shows them, removes them, and audits each change', async () => {
    const set = await vigil(['plans', 'set-checkins', patientId, '--from', 'heart_failure', '--data-dir', dir.path]);
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain('hf_daily 08:30');
    const edited = await vigil(['plans', 'set-checkins', patientId, '--checkin', 'hf_daily@09:00,18:00/mon,thu/120', '--checkin', 'copd_daily@10:00', '--data-dir', dir.path]);
    expect(edited.stdout).toContain('hf_daily 09:00,18:00 on mon,thu; copd_daily 10:00');
    const shown = JSON.parse((await vigil(['plans', 'show', patientId, '--json', '--data-dir', dir.path])).stdout) as { checkins: { checkins: { questionnaire: string; windowMinutes: number }[] } };
    expect(shown.checkins.checkins.map((c) => [c.questionnaire, c.windowMinutes])).toEqual([
      ['hf_daily', 120],
      ['copd_daily', 180],
    ]);
    expect((await vigil(['plans', 'set-checkins', patientId, '--none', '--data-dir', dir.path])).stdout).toContain('removed');
    const { db } = openState(dir.path);
    const actions = new AuditLog(db).list({ patientId }).map((e) => e.action);
    db.close();
    expect(actions).toEqual(['care.checkins.update', 'care.checkins.update', 'care.checkins.create']);
  });

  it('refuses a bad check-in spec with what is allowed', async () => {
    const bad = await vigil(['plans', 'set-checkins', patientId, '--checkin', 'hf_daily@8am', '--data-dir', dir.path]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('QUESTIONNAIRE@HH:MM');
    const nothing = await vigil(['plans', 'set-checkins', patientId, '--from', 'hypertension', '--data-dir', dir.path]);
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr).toContain('--none');
  });
});
