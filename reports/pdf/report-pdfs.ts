import type { GlucoseReport, HomeBpReport, ProgrammeReport, ProgrammeRow, RiskScore, WeightReport } from '../../domain/index.js';
import { GMI_SOURCE, TIME_IN_RANGE_SOURCE } from '../glucose-definitions.js';
import { HOME_BP_SOURCE } from '../home-bp-report.js';
import { CMS_2026_SOURCE } from '../programme-definitions.js';
import { NEWS2_SOURCE } from '../risk-definitions.js';
import { WEIGHT_SOURCE } from '../weight-report.js';
import type { PdfReport } from './render.js';

/** The patient a PDF is about, as the page names them. */
export interface PdfPatient {
  readonly id: string;
  readonly name: string;
}

const day = (ms: number, tz: string) => new Intl.DateTimeFormat('en-CA', { timeZone: tz }).format(ms);
const num = (v: number | null, unit = '') => (v === null ? '-' : `${v}${unit}`);
const verdict = (met: boolean | null) => (met === null ? '' : met ? ': met' : ': not met');
const who = (p: PdfPatient) => `Patient: ${p.name} (${p.id})`;
const period = (r: { from: number; to: number; days: number; timeZone: string }) =>
  `Period: ${day(r.from, r.timeZone)} to ${day(r.to - 1, r.timeZone)} (${r.days} local days, ${r.timeZone})`;
const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

export function glucosePdf(r: GlucoseReport, p: PdfPatient, now: number): PdfReport {
  const kind = r.source === 'cgm' ? 'CGM' : r.source === 'meter' ? 'meter (shares of readings, not of time)' : 'no readings';
  const blocks: PdfReport['blocks'][number][] = [
    {
      kind: 'figures',
      heading: 'Summary',
      rows: [
        ['Readings', `${r.readings} (${kind})`],
        ['Mean glucose', num(r.meanMgdl, ' mg/dL')],
        ['Standard deviation', num(r.sdMgdl, ' mg/dL')],
        ['GMI', num(r.gmiPercent, ' %')],
        ...r.targets.map((t): [string, string] => [t.label, `${num(t.value, ` ${t.unit}`)} (target ${t.op} ${t.limit} ${t.unit}${verdict(t.met)})`]),
      ],
    },
    { kind: 'table', heading: 'Time in ranges', columns: ['Range', 'Readings', 'Share'], rows: r.ranges.map((x) => [x.label, String(x.count), num(x.percent, ' %')]), overflow: 'see the CSV download' },
  ];
  if (r.agp) {
    blocks.push({
      kind: 'chart',
      heading: 'Ambulatory glucose profile (percentiles by local hour)',
      unit: 'mg/dL',
      xLabels: r.agp.bins.map((b) => hhmm(b.minute)),
      series: [
        { label: '5th', color: '#94a3b8', values: r.agp.bins.map((b) => b.p5) },
        { label: '25th', color: '#0e7490', values: r.agp.bins.map((b) => b.p25) },
        { label: 'median', color: '#1d4ed8', width: 2, values: r.agp.bins.map((b) => b.p50) },
        { label: '75th', color: '#0e7490', values: r.agp.bins.map((b) => b.p75) },
        { label: '95th', color: '#94a3b8', values: r.agp.bins.map((b) => b.p95) },
      ],
    });
  }
  return { title: 'Glucose report', subtitle: [who(p), period(r)], blocks, source: `${TIME_IN_RANGE_SOURCE}; ${GMI_SOURCE}`, generatedAt: now };
}

export function homeBpPdf(r: HomeBpReport, p: PdfPatient, now: number): PdfReport {
  const pr = r.protocol;
  return {
    title: 'Home blood pressure report',
    subtitle: [who(p), period(r)],
    blocks: [
      {
        kind: 'figures',
        heading: 'Protocol average (last 7 local days, day 1 discarded)',
        rows: [
          ['Average', pr.systolic === null ? 'no average yet' : `${pr.systolic}/${pr.diastolic} mmHg over ${pr.days} days, ${pr.sessions} sessions`],
          ['Category', r.categoryLabel],
          ['Day 1 of monitoring, discarded', pr.discardedDay ?? '-'],
          [`Readings at or above ${r.aboveTarget.systolic}/${r.aboveTarget.diastolic}`, `${r.aboveTarget.count} of ${r.readings} (${num(r.aboveTarget.percent, ' %')})`],
        ],
      },
      {
        kind: 'table',
        heading: 'Weekly means of home readings',
        columns: ['Week from', 'Readings', 'Systolic', 'Diastolic'],
        rows: r.weeks.map((w) => [day(w.from, r.timeZone), String(w.readings), num(w.systolic), num(w.diastolic)]),
        overflow: 'see the CSV download',
      },
    ],
    source: HOME_BP_SOURCE,
    generatedAt: now,
  };
}

export function weightPdf(r: WeightReport, p: PdfPatient, now: number): PdfReport {
  const windows = r.windows.map((w) => `> ${w.riseKg} kg in ${w.days} day${w.days === 1 ? '' : 's'}`).join(', ');
  const alertText = (d: WeightReport['daily'][number]) =>
    d.alert ? `+${d.alert.riseKg} kg ${d.alert.windowDays === null ? 'over dry weight' : `since ${d.alert.windowFrom}`} (limit ${d.alert.limitKg})` : '';
  return {
    title: 'Heart-failure weight report',
    subtitle: [who(p), period(r), 'Morning weight: the first weight from 03:00 to 11:59 local time'],
    blocks: [
      {
        kind: 'figures',
        heading: 'Baseline and alert windows',
        rows: [
          ['Baseline', `${num(r.baseline.kg, ' kg')} (${r.baseline.label})`],
          ['Latest morning weight', r.latest ? `${r.latest.kg} kg on ${r.latest.date} (${num(r.latest.aboveBaselineKg, ' kg')} on the baseline)` : '-'],
          ['Alert windows', `${windows}${r.ruleEnabled ? '' : ' (the alert is off for this patient)'}`],
          ['Days past a window', `${r.alertDays} of ${r.weighedDays} days with a morning weight`],
        ],
      },
      {
        kind: 'chart',
        heading: 'Morning weight and baseline',
        unit: 'kg',
        xLabels: r.daily.map((d) => d.date.slice(5)),
        series: [
          { label: 'morning weight', color: '#1d4ed8', width: 1.5, values: r.daily.map((d) => d.kg) },
          { label: 'baseline', color: '#6b7280', values: r.daily.map((d) => d.baselineKg) },
          { label: 'past a window', color: '#b91c1c', width: 2.5, values: r.daily.map((d) => (d.alert ? d.kg : null)) },
        ],
      },
      {
        kind: 'table',
        heading: 'Days past a window, newest first',
        columns: ['Day', 'Morning weight', 'On baseline', 'Gain past a window'],
        rows: [...r.daily].reverse().filter((d) => d.alert).map((d) => [d.date, num(d.kg, ' kg'), num(d.aboveBaselineKg, ' kg'), alertText(d)]),
        overflow: 'see the CSV download',
      },
    ],
    source: WEIGHT_SOURCE,
    generatedAt: now,
  };
}

export function riskPdf(r: RiskScore, p: PdfPatient, now: number, timeZone: string): PdfReport {
  const when = (t: number) => new Intl.DateTimeFormat('en-GB', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(t);
  return {
    title: 'Risk score (home vitals, NEWS2 style)',
    subtitle: [who(p), `Vitals of the last ${r.maxAgeHours} h (${timeZone}); a ranking aid, not an alert`],
    blocks: [
      {
        kind: 'figures',
        heading: 'Score',
        rows: [
          ['Score', `${r.score} (vitals ${r.vitalsScore}, trend alerts ${r.score - r.vitalsScore})`],
          ['NEWS2 band of the home vitals', r.band.replace('_', '-')],
          ['Parts', r.text],
        ],
      },
      {
        kind: 'table',
        heading: 'Parts',
        columns: ['Part', 'Points', 'Measured'],
        rows: [
          ...r.parts.map((x) => [`${x.label} ${x.value} ${x.unit}`, String(x.points), when(x.measuredAt)]),
          ...r.trends.map((t) => [`Trend alert: ${t.title}`, String(t.points), 'live']),
          ...r.stale.map((s) => [`${s.label}: older than ${r.maxAgeHours} h, not scored`, '-', when(s.measuredAt)]),
        ],
        overflow: 'see the patient page',
      },
    ],
    source: `${NEWS2_SOURCE}; home parameters only (no respiration rate, consciousness or oxygen); +1 per live trend alert (Vigil)`,
    generatedAt: now,
  };
}

export function programmePdf(r: ProgrammeRow, now: number): PdfReport {
  const a = r.alerts;
  return {
    title: 'Remote monitoring programme report',
    subtitle: [who({ id: r.patientId, name: r.name }), `Period ${r.period.index}: ${r.period.from} to ${r.period.to} (${r.timeZone}), day ${r.period.elapsedDays} of 30; monitoring since ${r.monitoringFrom}`],
    blocks: [
      {
        kind: 'figures',
        heading: 'Days with device readings',
        rows: [
          ['Days with readings', `${r.daysWithReadings} of ${r.period.elapsedDays} days so far`],
          ['Device-supply code reached', r.code ?? 'none (under 2 days)'],
          ['16 days still reachable', r.can16 ? `yes (${r.period.remainingDays} days left)` : 'no'],
        ],
      },
      {
        kind: 'figures',
        heading: 'Alert work documented in the period',
        rows: [
          ['Alerts acknowledged by a person', String(a.acknowledged)],
          ['Alerts resolved by a person', String(a.resolvedByPerson)],
          ['Notes written', String(a.notes)],
          ['Elapsed minutes, acknowledged to resolved', `${a.elapsedMinutes} over ${a.handled} alerts (time in hand, not time spent)`],
        ],
      },
      { kind: 'table', heading: 'Days with readings', columns: ['Day', '', '', '', ''], rows: chunk(r.dates, 5), overflow: 'see the CSV download' },
    ],
    source: CMS_2026_SOURCE,
    generatedAt: now,
  };
}

/** The care team's table on one page: as many patients as fit, in the order asked, the rest counted. */
export function programmeTablePdf(r: ProgrammeReport, scope: string): PdfReport {
  const reached = (code: string) => r.rows.filter((x) => x.code === code).length;
  return {
    title: 'Remote monitoring programme report: care team',
    subtitle: [`${scope}; ${r.rows.length} patients, each over their current 30-day period; sorted by ${r.sort}`],
    blocks: [
      {
        kind: 'figures',
        heading: 'Summary',
        rows: [
          ['Patients reaching 99454 (16-30 days)', String(reached('99454'))],
          ['Patients reaching 99445 (2-15 days)', String(reached('99445'))],
          ['Patients under 2 days', String(r.rows.filter((x) => x.code === null).length)],
          ['Patients who can no longer reach 16 days', String(r.rows.filter((x) => !x.can16).length)],
        ],
      },
      {
        kind: 'table',
        heading: 'Patients',
        columns: ['Patient', 'Period', 'Days', 'Code', '16 reachable', 'Acked', 'Notes', 'Min. ack-resolve'],
        widths: [3.2, 1.5, 0.6, 0.8, 1, 0.7, 0.7, 1.2],
        rows: r.rows.map((x) => [
          `${x.name} (${x.patientId})`,
          `${x.period.from.slice(5)} to ${x.period.to.slice(5)}`,
          String(x.daysWithReadings),
          x.code ?? '-',
          x.can16 ? 'yes' : 'no',
          String(x.alerts.acknowledged),
          String(x.alerts.notes),
          String(x.alerts.elapsedMinutes),
        ]),
        overflow: 'see the CSV download',
      },
    ],
    source: `${CMS_2026_SOURCE}. Minutes are elapsed time from acknowledgement to resolution, not time spent`,
    generatedAt: r.generatedAt,
  };
}

function chunk(values: readonly string[], size: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < values.length; i += size) out.push(values.slice(i, i + size));
  return out;
}
