import type UPlot from 'uplot';
import type { GlucoseReport, HomeBpReport, ReportTarget, RiskScore, WeightReport } from '../../../domain/api/index.js';
import { api } from './api.js';
import { clear, h } from './dom.js';

const GLUCOSE_DAYS = 14;
const HOME_BP_DAYS = 28;
const WEIGHT_DAYS = 30;
const AGP_LINES = [
  { key: 'p5', label: '5th percentile', color: '#64748b' },
  { key: 'p25', label: '25th percentile', color: '#0e7490' },
  { key: 'p50', label: 'median', color: '#1d4ed8' },
  { key: 'p75', label: '75th percentile', color: '#0e7490' },
  { key: 'p95', label: '95th percentile', color: '#64748b' },
] as const;

const hhmm = (minute: number) => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
const num = (v: number | null, unit = '') => (v === null ? '–' : `${v}${unit}`);
const verdict = (met: boolean | null) => (met === null ? '–' : met ? 'Met' : 'Not met');

function table(caption: string, headers: string[], rows: (string | Node)[][], className = ''): HTMLTableElement {
  return h(
    'table',
    { class: `data-table ${className}`.trim() },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c)))))),
  );
}

function download(path: string, label: string, format: 'csv' | 'pdf' = 'csv'): HTMLAnchorElement {
  return h('a', { href: `${path}${path.includes('?') ? '&' : '?'}format=${format}`, class: 'btn btn-small no-print', download: '' }, label);
}

/** The CSV and the one-page PDF of a report, side by side. */
function downloads(path: string, name: string): HTMLElement {
  return h('p', { class: 'report-downloads' }, download(path, `Download ${name} (CSV)`), ' ', download(path, `Download ${name} (PDF)`, 'pdf'));
}

function targetRow(t: ReportTarget): string[] {
  return [t.label, num(t.value, t.value === null ? '' : ` ${t.unit}`), `${t.op} ${t.limit} ${t.unit}`, verdict(t.met)];
}

/** The AGP in words, for screen readers: where the median is lowest and highest over the day. */
function agpSummary(r: GlucoseReport): string {
  const bins = r.agp!.bins.filter((b) => b.p50 !== null);
  if (bins.length === 0) return 'No readings to profile.';
  const low = bins.reduce((a, b) => (b.p50! < a.p50! ? b : a));
  const high = bins.reduce((a, b) => (b.p50! > a.p50! ? b : a));
  return `Median glucose by local time of day over ${r.days} days: lowest ${low.p50} mg/dL at ${hhmm(low.minute)}, highest ${high.p50} mg/dL at ${hhmm(high.minute)}; the table of the profile lists every hour.`;
}

/** The ambulatory glucose profile with uPlot: the median, and the 25-75 and 5-95 percentile bands shaded. */
function drawAgp(container: HTMLElement, r: GlucoseReport): UPlot {
  const bins = r.agp!.bins;
  const data: (number | null)[][] = [bins.map((b) => b.minute / 60), ...AGP_LINES.map((l) => bins.map((b) => b[l.key]))];
  const series: UPlot.Series[] = [{ label: 'hour' }, ...AGP_LINES.map((l) => ({ label: l.label, stroke: l.color, width: l.key === 'p50' ? 2.5 : 1, points: { show: false }, spanGaps: false }))];
  const options: UPlot.Options = {
    width: Math.max(240, container.clientWidth - 8),
    height: 220,
    series,
    scales: { x: { time: false, min: 0, max: 23 } },
    axes: [
      { stroke: '#475569', grid: { stroke: '#e2e8f0' }, values: (_u, ticks) => ticks.map((t) => hhmm(t * 60)), label: 'local time' },
      { stroke: '#475569', grid: { stroke: '#e2e8f0' }, label: 'mg/dL', size: 56 },
    ],
    bands: [
      { series: [5, 1], fill: '#64748b1f' },
      { series: [4, 2], fill: '#0e749033' },
    ],
    legend: { live: true },
  };
  const chart = new uPlot(options, data as UPlot.AlignedData, container);
  new ResizeObserver(() => chart.setSize({ width: Math.max(240, container.clientWidth - 8), height: 220 })).observe(container);
  return chart;
}

const BAND_LABEL: Record<RiskScore['band'], string> = { low: 'low', low_medium: 'low-medium (a single parameter scores 3)', medium: 'medium', high: 'high' };

/**
 * The risk score part by part: each vital with its NEWS2 points, each live trend alert with its point, the
 * vitals too old to score. A ranking aid, said so: the alerts are what call for action.
 */
function riskSection(r: RiskScore, path: string): HTMLElement {
  const rows = [
    ...r.parts.map((p) => [`${p.label} ${p.value} ${p.unit}`, String(p.points), new Date(p.measuredAt).toLocaleString()]),
    ...r.trends.map((t) => [`Trend alert: ${t.title}`, String(t.points), 'live']),
    ...r.stale.map((s) => [`${s.label} (older than ${r.maxAgeHours} h: not scored)`, '–', new Date(s.measuredAt).toLocaleString()]),
  ];
  return h(
    'div',
    { class: 'report pad', 'data-report': 'risk' },
    h('h3', {}, 'Risk score'),
    h('p', {}, h('strong', { 'data-risk-score': String(r.score) }, `Score ${r.score}`), ` (vitals ${r.vitalsScore}, NEWS2 band of the home vitals: ${BAND_LABEL[r.band]}): ${r.text}.`),
    rows.length > 0 ? table('Risk score parts', ['Part', 'Points', 'Measured'], rows, 'risk-parts') : h('p', { class: 'muted' }, `No vitals in the last ${r.maxAgeHours} h and no trend alerts.`),
    h('p', { class: 'muted' }, `In the style of NEWS2 (RCP 2017), from the home vitals of the last ${r.maxAgeHours} h only (no respiration rate, consciousness or oxygen): it ranks the worklist, it raises no alert and replaces no rule.`),
    h('p', {}, download(path, 'Download risk score (PDF)', 'pdf')),
  );
}

const kg = (v: number | null) => (v === null ? '–' : `${v} kg`);
const signedKg = (v: number | null) => (v === null ? '–' : `${v > 0 ? '+' : ''}${v} kg`);

/** A day's alert in words: "+1 kg in 1 day since 2026-11-19 (limit 0.9 kg)". */
function weightAlert(a: WeightReport['daily'][number]['alert']): string {
  if (!a) return '';
  if (a.windowDays === null) return `+${a.riseKg} kg over the dry weight (limit ${a.limitKg} kg)`;
  return `+${a.riseKg} kg in ${a.windowDays} day${a.windowDays === 1 ? '' : 's'} since ${a.windowFrom} (limit ${a.limitKg} kg)`;
}

/**
 * The heart-failure weight report: each local morning weight against the baseline, the days past a weight-gain
 * window marked with the window, and the days inside an alert window (from its first day to the alert) marked
 * as such, so a clinician sees the run-up to each alert.
 */
function weightSection(r: WeightReport, path: string): HTMLElement {
  const title = h('h3', {}, `Heart-failure weight, last ${r.days} days`);
  if (r.weighedDays === 0) {
    return h('div', { class: 'report pad', 'data-report': 'weight' }, title, h('p', { class: 'muted' }, `No morning weights in the last ${r.days} days.`));
  }
  const inWindow = new Set<string>();
  for (const d of r.daily) {
    if (!d.alert) continue;
    for (const x of r.daily) if (x.date >= d.alert.windowFrom && x.date <= d.date) inWindow.add(x.date);
  }
  const windows = r.windows.map((w) => `> ${w.riseKg} kg in ${w.days} day${w.days === 1 ? '' : 's'}`).join(', ');
  const figures = [
    ['Baseline', `${kg(r.baseline.kg)} (${r.baseline.label})`],
    ['Latest morning weight', r.latest ? `${r.latest.kg} kg on ${r.latest.date} (${signedKg(r.latest.aboveBaselineKg)} on the baseline)` : '–'],
    ['Alert windows', `${windows}${r.dryWeightKg === null ? '' : `, > ${Math.max(...r.windows.map((w) => w.riseKg))} kg above the dry weight`}${r.ruleEnabled ? '' : ' (the alert is off for this patient)'}`],
    ['Days past a window', `${r.alertDays} of ${r.weighedDays} days with a morning weight`],
  ];
  const rows = [...r.daily].reverse().map((d) => {
    const mark = d.alert ? 'Alert' : inWindow.has(d.date) ? 'In alert window' : '';
    const cls = d.alert ? 'weight-alert' : inWindow.has(d.date) ? 'weight-window' : '';
    const cells = [kg(d.kg), kg(d.baselineKg), signedKg(d.aboveBaselineKg), mark, weightAlert(d.alert)].map((c) => h('td', {}, c));
    return h('tr', { 'data-date': d.date, class: cls }, h('th', { scope: 'row' }, d.date), cells);
  });
  const daily = h(
    'table',
    { class: 'data-table weight-days' },
    h('caption', {}, 'Morning weights by local day (03:00-11:59), newest first'),
    h('thead', {}, h('tr', {}, ['Day', 'Morning weight', 'Baseline', 'On baseline', 'Window', 'Gain past a window'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows),
  );
  return h(
    'div',
    { class: 'report pad', 'data-report': 'weight' },
    title,
    table('Heart-failure weight figures', ['Figure', 'Value'], figures, 'report-targets'),
    h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Morning weights by day' }, daily),
    downloads(path, 'weight report'),
  );
}

/**
 * The patient page's "Reports" panel: the glucose report (last 14 days) and the home BP report (last 4 weeks)
 * with each figure against its target, the AGP as a chart with a text alternative and a table, and CSV
 * downloads (docs/reports.md). Loaded with the page; a live refresh reloads it in the background.
 */
export class ReportView {
  readonly #patientId: string;
  readonly #body = h('div', { class: 'reports-body' }, h('p', { class: 'muted pad' }, 'Loading reports…'));
  readonly element: HTMLElement;
  #chart: UPlot | undefined;

  constructor(patientId: string) {
    this.#patientId = patientId;
    this.element = h(
      'section',
      { class: 'panel reports', 'aria-labelledby': 'reports-title', 'data-panel': 'reports' },
      h('header', { class: 'panel-header' }, h('h2', { id: 'reports-title', tabindex: '-1' }, 'Reports')),
      this.#body,
    );
  }

  async load(background = false): Promise<void> {
    const base = `/api/patients/${encodeURIComponent(this.#patientId)}/reports`;
    try {
      const [risk, glucose, bp, weight] = await Promise.all([
        api<RiskScore>('GET', `${base}/risk`, undefined, { background }),
        api<GlucoseReport>('GET', `${base}/glucose?days=${GLUCOSE_DAYS}`, undefined, { background }),
        api<HomeBpReport>('GET', `${base}/home-bp?days=${HOME_BP_DAYS}`, undefined, { background }),
        api<WeightReport>('GET', `${base}/weight?days=${WEIGHT_DAYS}`, undefined, { background }),
      ]);
      this.#chart?.destroy();
      this.#chart = undefined;
      clear(this.#body);
      this.#body.append(riskSection(risk, `${base}/risk`));
      const plot = this.#glucose(glucose, `${base}/glucose?days=${GLUCOSE_DAYS}`);
      this.#body.append(this.#homeBp(bp, `${base}/home-bp?days=${HOME_BP_DAYS}`));
      this.#body.append(weightSection(weight, `${base}/weight?days=${WEIGHT_DAYS}`));
      if (plot) this.#chart = drawAgp(plot, glucose);
    } catch {
      clear(this.#body);
      this.#body.append(h('p', { class: 'muted pad', role: 'status' }, 'The reports could not be loaded.'));
    }
  }

  /** Appends the glucose report; returns the AGP's plot box, to draw once it is in the page. */
  #glucose(r: GlucoseReport, path: string): HTMLElement | undefined {
    const title = h('h3', {}, `Glucose, last ${r.days} days`);
    if (r.source === 'none') {
      this.#body.append(h('div', { class: 'report pad', 'data-report': 'glucose' }, title, h('p', { class: 'muted' }, `No glucose readings in the last ${r.days} days.`)));
      return undefined;
    }
    const what = r.source === 'cgm' ? `${r.readings} CGM readings` : `${r.readings} meter readings (shares of readings, not of time; no wear or profile)`;
    const summary = h('p', {}, `${what}. Mean ${num(r.meanMgdl, ' mg/dL')}, SD ${num(r.sdMgdl, ' mg/dL')}${r.gmiPercent === null ? '' : `, GMI ${r.gmiPercent} %`}.`);
    const targets = table('Glucose figures against the consensus targets', ['Figure', 'Value', 'Target', 'Verdict'], r.targets.map(targetRow), 'report-targets');
    const ranges = table('Readings in each glucose range', ['Range', 'Readings', 'Share'], r.ranges.map((x) => [x.label, String(x.count), num(x.percent, ' %')]));
    let plot: HTMLElement | undefined;
    const parts: Node[] = [title, summary, targets, ranges];
    if (r.agp) {
      const text = h('p', { class: 'chart-summary', id: 'agp-summary' }, agpSummary(r));
      plot = h('div', { class: 'chart-plot', role: 'img', 'aria-label': 'Ambulatory glucose profile chart', 'aria-describedby': text.id });
      const rows = r.agp.bins.map((b) => [hhmm(b.minute), String(b.count), num(b.p5), num(b.p25), num(b.p50), num(b.p75), num(b.p95)]);
      const details = h(
        'details',
        { class: 'no-print' },
        h('summary', {}, 'Table of the profile'),
        h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Ambulatory glucose profile values' }, table('Ambulatory glucose profile, mg/dL by local hour', ['Hour', 'Readings', '5th', '25th', 'Median', '75th', '95th'], rows, 'agp-table')),
      );
      parts.push(h('figure', { class: 'chart', 'data-type': 'agp' }, h('figcaption', {}, 'Ambulatory glucose profile (5th-95th percentiles, local time)'), plot, text, details));
    }
    parts.push(downloads(path, 'glucose report'));
    this.#body.append(h('div', { class: 'report pad', 'data-report': 'glucose' }, parts));
    return plot;
  }

  #homeBp(r: HomeBpReport, path: string): HTMLElement {
    const p = r.protocol;
    const average = p.systolic === null ? 'no average yet' : `${p.systolic}/${p.diastolic} mmHg over ${p.days} days, ${p.sessions} sessions`;
    const rows = [
      ['7-day protocol average', average],
      ['Category', r.categoryLabel],
      ['Day 1 of monitoring, discarded', p.discardedDay ?? '–'],
      [`Readings at or above ${r.aboveTarget.systolic}/${r.aboveTarget.diastolic}`, `${r.aboveTarget.count} of ${r.readings} (${num(r.aboveTarget.percent, ' %')})`],
    ];
    const weeks = r.weeks.map((w) => [new Date(w.from).toLocaleDateString(), String(w.readings), num(w.systolic), num(w.diastolic)]);
    return h(
      'div',
      { class: 'report pad', 'data-report': 'home-bp' },
      h('h3', {}, `Home blood pressure, last ${r.days} days`),
      table('Home blood pressure figures', ['Figure', 'Value'], rows, 'report-targets'),
      table('Weekly means of home readings', ['Week from', 'Readings', 'Systolic', 'Diastolic'], weeks),
      downloads(path, 'home BP report'),
    );
  }
}
