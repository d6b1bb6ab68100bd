import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { addDays, homeBpReportSchema, programmeReportSchema, startOfLocalDay, weightReportSchema } from '../domain/index.js';
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

/** 09:00 in Paris `daysBack` days before `now`'s Paris day, moved a day back when that is after `now`. */
function parisNine(now: number, daysBack: number): number {
  const day = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Paris' }).format(now);
  let t = startOfLocalDay(addDays(day, -daysBack), 'Europe/Paris') + 9 * 3_600_000;
  if (t > now) t -= 86_400_000;
  return t;
}

/** The built `vigil reports` command over a data directory with a patient and readings. */
describe('vigil reports', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let patientId: string;

  beforeAll(async () => {
    dir = await tempDir();
    const { db, registry } = openState(dir.path);
    patientId = (await registry.addPatient({ name: 'Report Patient', timeZone: 'Europe/Paris' })).id;
    db.close();
    const store = new SqliteStore(dir.path);
    const now = Date.now();
    await store.write([
      reading({ patientId, time: now - 60_000, fields: { systolic: 150, diastolic: 95 }, msgId: 'a' }),
      reading({ patientId, time: now - 120_000, fields: { systolic: 120, diastolic: 75 }, msgId: 'b' }),
      // Morning weights (09:00 Paris) three days ago, 80 kg, and today (yesterday before 09:00), 81 kg.
      ...[3, 0].map((daysBack) => reading({ patientId, type: 'weight', time: parisNine(now, daysBack), fields: { value: daysBack === 0 ? 81 : 80 }, msgId: `w${daysBack}` })),
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
    // This patient has no glucose reading.
    expect(r.stdout).toMatch(/\): no glucose readings\n/);
    expect(r.stdout).toMatch(/Time in range 70-180 mg\/dL\s+-\s+> 70 %/);
  });

  it('prints the weight report, as JSON and as a day-by-day table', async () => {
    const r = await vigil(['reports', 'weight', '--patient', patientId, '--days', '7', '--json', '--data-dir', dir.path]);
    expect(r.stderr).toBe('');
    const report = weightReportSchema.parse(JSON.parse(r.stdout));
    // 80.0 then 81.0 two or three mornings later: +1.0 kg, past no window (no weight the day before; 3 days: 2 kg).
    expect(report.daily.filter((d) => d.kg !== null).map((d) => d.kg)).toEqual([80, 81]);
    expect(report.alertDays).toBe(0);
    const text = await vigil(['reports', 'weight', '--patient', patientId, '--data-dir', dir.path]);
    expect(text.stdout).toContain('Weight report');
    expect(text.stdout).toContain('windows: > 0.9 kg in 1 day, > 2 kg in 3 days, > 2.3 kg in 7 days');
  });

  it('prints the programme report as JSON, CSV and a table', async () => {
    // Registered today, so today is day 1 of the first period; the readings of the last minutes are today's.
    const r = await vigil(['reports', 'programme', '--json', '--data-dir', dir.path]);
    expect(r.stderr).toBe('');
    const report = programmeReportSchema.parse(JSON.parse(r.stdout));
    expect(report.rows.map((x) => [x.patientId, x.period.index, x.daysWithReadings, x.code])).toEqual([[patientId, 1, 1, null]]);
    const csv = await vigil(['reports', 'programme', '--patient', patientId, '--csv', '--data-dir', dir.path]);
    expect(csv.stdout.split('\r\n')[1]).toMatch(new RegExp(`^${patientId},Report Patient,,Europe/Paris,`));
    const text = await vigil(['reports', 'programme', '--sort', 'name', '--order', 'desc', '--data-dir', dir.path]);
    expect(text.stdout).toContain('Programme report: 1 patients');
    expect((await vigil(['reports', 'programme', '--sort', 'age', '--data-dir', dir.path])).code).toBe(2);
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
