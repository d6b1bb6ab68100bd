import { describe, expect, it } from 'vitest';
import type { SqliteStore } from '../ingest/index.js';
import { reading } from '../test/support/readings.js';
import { useTempSqliteStore } from '../test/support/temp-store.js';
import { deviceSupplyCode } from './programme-definitions.js';
import { alertWork, currentPeriod, programmeRow, type ProgrammeAlert, type ProgrammePatient } from './programme-report.js';
import { programmeReport, programmeReportCsv, sortProgrammeRows } from './programme-table.js';

const MIN = 60_000;
// Asia/Kolkata is UTC+05:30 all year: local midnight is 18:30Z the day before.
const TZ = 'Asia/Kolkata';
const NOW = Date.parse('2026-11-22T06:30:00Z'); // 12:00 local, 22 Nov
const patient = (id: string, name: string, enrolled: string): ProgrammePatient => ({
  id,
  name,
  careTeam: 'rpm',
  timeZone: TZ,
  createdAt: Date.parse('2026-09-01T00:00:00Z'),
  enrolledAt: { hypertension: Date.parse(enrolled) },
});

let store: SqliteStore;
useTempSqliteStore((opened) => void (store = opened));

describe('programme report (CMS CY 2026 PFS: 99454 at 16-30 days, 99445 at 2-15), worked by hand', () => {
  it('runs 30-day periods back to back from the first day of monitoring', () => {
    // Monitoring from 1 Oct; 22 Nov is 52 days later: period 2 (index 1), 31 Oct to 29 Nov, its 23rd day.
    expect(currentPeriod('2026-10-01', '2026-11-22')).toEqual({ index: 1, from: '2026-10-31', to: '2026-11-29', elapsedDays: 23 });
    expect(currentPeriod('2026-11-22', '2026-11-22')).toEqual({ index: 0, from: '2026-11-22', to: '2026-12-21', elapsedDays: 1 });
    // Day 30 is the last of period 1; day 31 starts period 2.
    expect(currentPeriod('2026-10-01', '2026-10-30').index).toBe(0);
    expect(currentPeriod('2026-10-01', '2026-10-31').index).toBe(1);
  });

  it('maps days of data to the device-supply code', () => {
    expect([0, 1, 2, 15, 16, 30].map(deviceSupplyCode)).toEqual([null, null, '99445', '99445', '99454', '99454']);
  });

  it('counts distinct local days with any reading in the current period: 15 days reach 99445, the 16th 99454', async () => {
    // Enrolled 1 Oct (IST): the period is 31 Oct - 29 Nov, 23 days elapsed, 7 left.
    // Readings at 10:00 IST (04:30Z) on 1-15 Nov, a second type on 10 Nov (same day: still one day), and one on
    // 30 Oct (the previous period: not counted).
    const at = (day: number, hourZ: string) => Date.parse(`2026-11-${String(day).padStart(2, '0')}T${hourZ}:00Z`);
    const readings = [];
    for (let day = 1; day <= 15; day += 1) readings.push(reading({ patientId: 'p-prog', time: at(day, '04:30'), msgId: `bp${day}` }));
    readings.push(reading({ patientId: 'p-prog', type: 'weight', time: at(10, '05:00'), fields: { value: 80 } }));
    readings.push(reading({ patientId: 'p-prog', time: Date.parse('2026-10-30T04:30:00Z'), msgId: 'old' }));
    await store.write(readings);
    const p = patient('p-prog', 'Asha', '2026-10-01T04:00:00Z');
    const row = await programmeRow(store, p, [], NOW);
    expect(row.period).toEqual({ index: 2, from: '2026-10-31', to: '2026-11-29', elapsedDays: 23, remainingDays: 7 });
    expect(row.daysWithReadings).toBe(15);
    expect(row.code).toBe('99445');
    // 15 + 7 left >= 16.
    expect(row.can16).toBe(true);
    // 15 Nov 20:00Z is 16 Nov 01:30 in Kolkata: a 16th local day (in UTC it would be the 15th again).
    await store.write([reading({ patientId: 'p-prog', time: at(15, '20:00'), msgId: 'late-night' })]);
    const again = await programmeRow(store, p, [], NOW);
    expect(again.daysWithReadings).toBe(16);
    expect(again.dates.at(-1)).toBe('2026-11-16');
    expect(again.code).toBe('99454');
  });

  it('says when 16 days can no longer be reached, and gives no code below 2 days', async () => {
    // Enrolled 24 Oct: 22 Nov is day 30, the last of period 1; one day of data so far.
    await store.write([reading({ patientId: 'p-few', time: Date.parse('2026-11-20T04:30:00Z') })]);
    const row = await programmeRow(store, patient('p-few', 'Bo', '2026-10-24T04:00:00Z'), [], NOW);
    expect(row.period).toEqual({ index: 1, from: '2026-10-24', to: '2026-11-22', elapsedDays: 30, remainingDays: 0 });
    expect([row.daysWithReadings, row.code, row.can16]).toEqual([1, null, false]);
  });

  it("documents people's alert work in the period, never calling elapsed time effort", () => {
    const from = Date.parse('2026-11-01T00:00:00Z');
    const to = Date.parse('2026-12-01T00:00:00Z');
    const t0 = Date.parse('2026-11-10T09:00:00Z');
    const alert = (a: Partial<ProgrammeAlert>): ProgrammeAlert => ({ openedAt: t0, acknowledgedAt: null, acknowledgedBy: null, acknowledgeNote: null, resolvedAt: null, resolvedBy: null, resolveNote: null, ...a });
    const alerts = [
      // Acknowledged at +10 min with a note, resolved by the same person at +40 min: 30 elapsed minutes.
      alert({ acknowledgedAt: t0 + 10 * MIN, acknowledgedBy: 'alice', acknowledgeNote: 'called the patient', resolvedAt: t0 + 40 * MIN, resolvedBy: 'alice', resolveNote: ' ' }),
      // Acknowledged by a person, closed by Vigil back in range: an acknowledgement, no handled time.
      alert({ acknowledgedAt: t0 + 5 * MIN, acknowledgedBy: 'bob', resolvedAt: t0 + 90 * MIN, resolvedBy: 'vigil', resolveNote: 'back in range' }),
      // Acknowledged before the period, resolved in it with a note.
      alert({ openedAt: from - 60 * MIN, acknowledgedAt: from - 30 * MIN, acknowledgedBy: 'carol', resolvedAt: from + 30 * MIN, resolvedBy: 'carol', resolveNote: 'seen in clinic' }),
      // Open, untouched.
      alert({}),
    ];
    expect(alertWork(alerts, from, to)).toEqual({ acknowledged: 2, resolvedByPerson: 2, notes: 2, handled: 1, elapsedMinutes: 30 });
  });

  it('builds the care-team table, sorts it and writes it as CSV', async () => {
    const patients = [patient('p-prog', 'Asha', '2026-10-01T04:00:00Z'), patient('p-few', 'Bo', '2026-10-24T04:00:00Z'), patient('p-none', 'Cy', '2026-11-20T04:00:00Z')];
    const report = await programmeReport(store, patients, () => [], NOW);
    // Default: fewest days first (the patients furthest from 16).
    expect(report.rows.map((r) => [r.patientId, r.daysWithReadings])).toEqual([['p-none', 0], ['p-few', 1], ['p-prog', 16]]);
    expect(sortProgrammeRows(report.rows, 'name', true).map((r) => r.name)).toEqual(['Cy', 'Bo', 'Asha']);
    const csv = programmeReportCsv(report);
    expect(csv.split('\r\n')[0]).toMatch(/^patient,name,care team,/);
    expect(csv).toContain('p-prog,Asha,rpm,Asia/Kolkata,2026-10-01,2,2026-10-31,2026-11-29,23,16,99454,true,0,0,0,0,0');
  });
});
