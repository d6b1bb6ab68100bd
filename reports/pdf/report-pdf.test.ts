import { describe, expect, it } from 'vitest';
import { addDays, startOfLocalDay } from '../../domain/index.js';
import type { SqliteStore } from '../../ingest/index.js';
import { lookAtPdf } from '../../test/support/pdf.js';
import { reading } from '../../test/support/readings.js';
import { useTempSqliteStore } from '../../test/support/temp-store.js';
import { glucoseReport } from '../glucose-report.js';
import { homeBpReport } from '../home-bp-report.js';
import { programmeRow } from '../programme-report.js';
import { riskScore } from '../risk-score.js';
import { weightReport } from '../weight-report.js';
import { renderPdf } from './render.js';
import { glucosePdf, homeBpPdf, programmePdf, programmeTablePdf, riskPdf, weightPdf } from './report-pdfs.js';

const TZ = 'Europe/Paris';
const NOW = Date.parse('2026-11-22T18:00:00Z');
const MIN = 60_000;
const patient = { id: 'p-pdf', name: 'Jeanne Martin', timeZone: TZ };

let store: SqliteStore;
useTempSqliteStore(async (opened) => {
  store = opened;
  const readings = [];
  // The CGM trace of glucose-report.test.ts: 50, 60, 14 x 100, 3 x 200, 300 -> TIR 70 %, mean 120.5, GMI 6.2 %.
  const values = [50, 60, ...Array<number>(14).fill(100), 200, 200, 200, 300];
  values.forEach((v, i) => readings.push(reading({ patientId: patient.id, type: 'glucose', time: NOW - 2 * 3_600_000 + i * 5 * MIN, fields: { value: v }, tags: { source: 'cgm' }, msgId: `g${i}` })));
  // 90 mornings of weight at 07:00 Paris, 80 kg, rising 1 kg a day over the last four: every one of them past a window.
  for (let k = 89; k >= 0; k -= 1) {
    const date = addDays('2026-11-22', -k);
    readings.push(reading({ patientId: patient.id, type: 'weight', time: startOfLocalDay(date, TZ) + 7 * 3_600_000, fields: { value: k < 4 ? 84 - k : 80 }, msgId: `w${k}` }));
  }
  readings.push(reading({ patientId: patient.id, time: NOW - 60 * MIN, fields: { systolic: 138, diastolic: 86, pulse: 72 }, msgId: 'bp' }));
  await store.write(readings);
});

/** Every report PDF is one A4 page with ink on it, and its text carries the report's own numbers. */
describe('report PDFs (PDFKit), looked at with poppler (pdfinfo, pdftotext, pdftoppm)', () => {
  it('the glucose report: one page, the hand-worked figures in its text, the profile drawn', async () => {
    const r = await glucoseReport(store, patient, 14, NOW);
    const look = await lookAtPdf(await renderPdf(glucosePdf(r, patient, NOW)));
    expect(look.pages).toBe(1);
    expect(look.text).toContain('Glucose report');
    expect(look.text).toContain('Jeanne Martin (p-pdf)');
    expect(look.text).toMatch(/Mean glucose\s+120\.5 mg\/dL/);
    expect(look.text).toMatch(/GMI\s+6\.2 %/);
    expect(look.text).toMatch(/Time in range 70-180 mg\/dL\s+70 % \(target > 70 %: not met\)/);
    expect(look.text).toContain('Ambulatory glucose profile');
    expect(look.text).toContain('Battelino');
    expect(look.inkShare).toBeGreaterThan(0.01);
  });

  it('the weight report of 90 days stays on one page, with the windows past and the rest counted', async () => {
    const r = await weightReport(store, patient, 90, NOW);
    // 19-22 Nov: 81, 82, 83, 84 against 80: each more than 0.9 kg over the day before. On 22 Nov the worst
    // window is the 7-day one: +4 over 80 (4 / 2.3 = 1.74) beats 3 days, +3 over 81 (1.5), and 1 day, +1 (1.11).
    expect(r.alertDays).toBe(4);
    const look = await lookAtPdf(await renderPdf(weightPdf(r, patient, NOW)));
    expect(look.pages).toBe(1);
    expect(look.text).toContain('Heart-failure weight report');
    expect(look.text).toMatch(/Days past a window\s+4 of 90 days/);
    expect(look.text).toMatch(/2026-11-22\s+84 kg\s+4 kg\s+\+4 kg since 2026-11-15 \(limit 2\.3\)/);
    expect(look.text).toMatch(/2026-11-19\s+81 kg\s+1 kg\s+\+1 kg since 2026-11-18 \(limit 0\.9\)/);
    expect(look.inkShare).toBeGreaterThan(0.01);
  });

  it('the home BP, risk and programme reports: one page each, their numbers in the text', async () => {
    const bp = await lookAtPdf(await renderPdf(homeBpPdf(await homeBpReport(store, patient, 28, NOW), patient, NOW)));
    expect(bp.pages).toBe(1);
    expect(bp.text).toMatch(/Readings at or above 135\/85\s+1 of 1 \(100 %\)/);
    const risk = riskScore(new Map([['blood_pressure', { type: 'blood_pressure', time: NOW - 60 * MIN, fields: { systolic: 95, diastolic: 60, pulse: 118 } }]]), [], NOW);
    const riskLook = await lookAtPdf(await renderPdf(riskPdf(risk, patient, NOW, TZ)));
    expect(riskLook.pages).toBe(1);
    // Pulse 118: 2, systolic 95: 2 (NEWS2 chart).
    expect(riskLook.text).toMatch(/Score\s+4 \(vitals 4, trend alerts 0\)/);
    expect(riskLook.text).toContain('pulse 118 /min: 2, systolic BP 95 mmHg: 2');
    const row = await programmeRow(store, { ...patient, careTeam: null, createdAt: NOW - 95 * 86_400_000, enrolledAt: { heart_failure: Date.parse('2026-10-24T08:00:00Z') } }, [], NOW);
    // Monitoring from 24 Oct: 22 Nov is day 30 of period 1, every day weighed.
    expect([row.daysWithReadings, row.code]).toEqual([30, '99454']);
    const prog = await lookAtPdf(await renderPdf(programmePdf(row, NOW)));
    expect(prog.pages).toBe(1);
    expect(prog.text).toMatch(/Days with readings\s+30 of 30 days so far/);
    expect(prog.text).toMatch(/Device-supply code reached\s+99454/);
    for (const look of [bp, riskLook, prog]) expect(look.inkShare).toBeGreaterThan(0.005);
  });

  it("the care team's table of 120 patients: one page, the patients that fit, the rest counted", async () => {
    const row = await programmeRow(store, { ...patient, careTeam: 'hf', createdAt: NOW - 95 * 86_400_000, enrolledAt: { heart_failure: Date.parse('2026-10-24T08:00:00Z') } }, [], NOW);
    const rows = Array.from({ length: 120 }, (_, i) => ({ ...row, patientId: `p-${String(i).padStart(3, '0')}`, name: `Patient ${i}` }));
    const look = await lookAtPdf(await renderPdf(programmeTablePdf({ generatedAt: NOW, sort: 'days asc', rows, source: '' }, 'Care teams: hf')));
    expect(look.pages).toBe(1);
    expect(look.text).toMatch(/Patients reaching 99454 \(16-30 days\)\s+120/);
    const shown = (look.text.match(/Patient \d+ \(p-\d{3}\)/g) ?? []).length;
    expect(shown).toBeGreaterThan(20);
    expect(look.text).toContain(`${120 - shown} more rows: see the CSV download.`);
  });
});
