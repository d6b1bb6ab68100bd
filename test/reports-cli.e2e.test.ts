import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { homeBpReportSchema } from '../domain/index.js';
import { SqliteStore } from '../ingest/index.js';
import { reading } from './support/readings.js';
import { tempDir } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);

async function vigil(args: string[]) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The built `vigil reports` command over a data directory with a patient and readings. */
describe('vigil reports', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let patientId: string;

  beforeAll(async () => {
    dir = await tempDir();
    const { db, registry } = openState(dir.path);
    patientId = registry.addPatient({ name: 'Report Patient', timeZone: 'Europe/Paris' }).id;
    db.close();
    const store = new SqliteStore(dir.path);
    const now = Date.now();
    await store.write([
      reading({ patientId, time: now - 60_000, fields: { systolic: 150, diastolic: 95 }, msgId: 'a' }),
      reading({ patientId, time: now - 120_000, fields: { systolic: 120, diastolic: 75 }, msgId: 'b' }),
    ]);
    await store.close();
  });
  afterAll(async () => {
    await dir.remove();
  });

  it('prints the home BP report as the API answer with --json', async () => {
    const r = await vigil(['reports', 'home-bp', '--patient', patientId, '--json', '--data-dir', dir.path]);
    expect(r.stderr).toBe('');
    const report = homeBpReportSchema.parse(JSON.parse(r.stdout));
    expect(report.readings).toBe(2);
    expect(report.aboveTarget).toMatchObject({ count: 1, percent: 50 });
  });

  it('prints the glucose report as text, with its targets', async () => {
    const r = await vigil(['reports', 'glucose', '--patient', patientId, '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Glucose report');
    expect(r.stdout).toMatch(/Time in range 70-180 mg\/dL\s+-\s+> 70 %/);
  });

  it('has help with an example, and refuses a bad period (2) or an unknown patient (1)', async () => {
    const help = await vigil(['reports', 'glucose', '--help']);
    expect(help.stdout).toContain('Example:\n  vigil reports glucose --patient');
    expect((await vigil(['reports', 'home-bp', '--patient', patientId, '--days', '0', '--data-dir', dir.path])).code).toBe(2);
    const unknown = await vigil(['reports', 'home-bp', '--patient', 'nobody', '--data-dir', dir.path]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('patient nobody does not exist');
  });
});
