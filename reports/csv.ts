import { csvLines, type GlucoseReport, type HomeBpReport, type WeightReport } from '../domain/index.js';

const iso = (ms: number) => new Date(ms).toISOString();

type Row = (string | number | boolean | null)[];

/** The header and period rows every report CSV starts with; `extra` empty cells pad them to wider tables. */
function periodRows(r: { patientId: string; from: number; to: number; timeZone: string }, extra: string[] = []): Row[] {
  return [
    ['section', 'figure', 'value', 'unit', ...extra],
    ['period', 'patient', r.patientId, '', ...extra.map(() => '')],
    ['period', 'from', iso(r.from), '', ...extra.map(() => '')],
    ['period', 'to', iso(r.to), '', ...extra.map(() => '')],
    ['period', 'time zone', r.timeZone, '', ...extra.map(() => '')],
  ];
}

/** The glucose report as one CSV table of sections: figure, value, unit, target, met; then the AGP by hour. */
export function glucoseReportCsv(r: GlucoseReport): string {
  const rows: Row[] = [
    ...periodRows(r, ['target', 'met']),
    ['period', 'source', r.source, '', '', ''],
    ['period', 'readings', r.readings, '', '', ''],
    ...r.ranges.map((x) => ['range', x.label, x.percent, '%', '', null]),
    ['summary', 'mean glucose', r.meanMgdl, 'mg/dL', '', null],
    ['summary', 'standard deviation', r.sdMgdl, 'mg/dL', '', null],
    ['summary', 'GMI', r.gmiPercent, '%', '', null],
    ...r.targets.map((t) => ['target', t.label, t.value, t.unit, `${t.op} ${t.limit}`, t.met]),
  ];
  if (r.agp) {
    rows.push([]);
    rows.push(['agp', 'local time', 'readings', 'p5', 'p25', 'p50', 'p75', 'p95']);
    for (const b of r.agp.bins) {
      const time = `${String(Math.floor(b.minute / 60)).padStart(2, '0')}:${String(b.minute % 60).padStart(2, '0')}`;
      rows.push(['agp', time, b.count, b.p5, b.p25, b.p50, b.p75, b.p95]);
    }
  }
  return csvLines(rows);
}

/** The home BP report as CSV: the protocol average and category, readings above the line, weekly means. */
export function homeBpReportCsv(r: HomeBpReport): string {
  const p = r.protocol;
  const rows: Row[] = [
    ...periodRows(r),
    ['period', 'readings', r.readings, ''],
    ['protocol', 'systolic average', p.systolic, 'mmHg'],
    ['protocol', 'diastolic average', p.diastolic, 'mmHg'],
    ['protocol', 'days counted', p.days, 'days'],
    ['protocol', 'sessions', p.sessions, ''],
    ['protocol', 'discarded day 1', p.discardedDay, ''],
    ['protocol', 'category', r.categoryLabel, ''],
    ['target', `readings at or above ${r.aboveTarget.systolic}/${r.aboveTarget.diastolic}`, r.aboveTarget.percent, '%'],
    [],
    ['week', 'from', 'readings', 'systolic mean', 'diastolic mean'],
    ...r.weeks.map((w) => ['week', iso(w.from), w.readings, w.systolic, w.diastolic]),
  ];
  return csvLines(rows);
}

/** The weight report as CSV: the baseline and windows, then each local day's morning weight and alert. */
export function weightReportCsv(r: WeightReport): string {
  const rows: Row[] = [
    ...periodRows(r),
    ['baseline', r.baseline.label, r.baseline.kg, 'kg'],
    ['baseline', 'dry weight', r.dryWeightKg, 'kg'],
    ...r.windows.map((w) => ['window', `rise over ${w.days} day${w.days === 1 ? '' : 's'}`, w.riseKg, 'kg']),
    ['summary', 'days with a morning weight', r.weighedDays, 'days'],
    ['summary', 'days past a window', r.alertDays, 'days'],
    [],
    ['day', 'date', 'morning weight kg', 'baseline kg', 'above baseline kg', 'alert window days', 'window from', 'rise kg', 'limit kg'],
    ...r.daily.map((d) => ['day', d.date, d.kg, d.baselineKg, d.aboveBaselineKg, d.alert ? (d.alert.windowDays ?? 'dry weight') : null, d.alert?.windowFrom ?? null, d.alert?.riseKg ?? null, d.alert?.limitKg ?? null]),
  ];
  return csvLines(rows);
}
