import type UPlot from 'uplot';
import { typeLabel, UNITS } from './format.js';
import type { Series, Threshold } from './types.js';

/** The fields drawn for each reading type (others, like pulse, are in the table and the API). */
const PLOTTED: Record<string, string[]> = {
  blood_pressure: ['systolic', 'diastolic'],
  glucose: ['value'],
  weight: ['value'],
  spo2: ['value'],
  heart_rate: ['value'],
  temperature: ['value'],
  steps: ['count'],
  fall: ['confidence'],
};
/** The fields a chart of this series draws: the text alternative lists the same. */
export function plottedFields(series: Series): string[] {
  return PLOTTED[series.type] ?? series.fields.slice(0, 1);
}

/** A value as the chart's text shows it: one decimal for weight and temperature, a fall detector's confidence in percent. */
export function formatValue(type: string, value: number): string {
  if (type === 'fall') return `${Math.round(value * 100)} %`;
  return value.toFixed(type === 'weight' || type === 'temperature' ? 1 : 0);
}

/** The patient's alert lines drawn on this chart, each once. */
export function thresholdLines(series: Series, thresholds: readonly Threshold[]): Threshold[] {
  const fields = plottedFields(series);
  const seen = new Set<string>();
  return thresholds.filter((t) => {
    const key = `${t.field}${t.op}${t.value}`;
    if (t.readingType !== series.type || !fields.includes(t.field) || seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Line colours, in the order of plottedFields(); the figure's key shows the same. */
export const COLORS = ['#1d4ed8', '#0e7490', '#7c3aed'];
export const THRESHOLD_COLORS: Record<string, string> = { critical: '#b91c1c', warning: '#b45309', info: '#475569' };

/**
 * A glucose meter's HI and LO readings have no value, so the chart cannot draw them; the caption says how many
 * there were instead, so that a night of LO readings is not an empty stretch of chart. Over long ranges the
 * count is of time buckets (their max of the flag is 1 when any reading in them was HI or LO).
 */
export function offScaleNote(series: Series): string | undefined {
  if (series.type !== 'glucose') return undefined;
  const count = (flag: 'hi' | 'lo') => series.points.filter((p) => (p.max[flag] ?? 0) >= 1).length;
  const [hi, lo] = [count('hi'), count('lo')];
  if (hi + lo === 0) return undefined;
  const parts = [hi ? `${hi} HI` : '', lo ? `${lo} LO` : ''].filter(Boolean).join(' and ');
  if (series.bucketMs === null) return `${parts} reading${hi + lo > 1 ? 's' : ''} outside the meter's range, not drawn`;
  return `${parts} period${hi + lo > 1 ? 's' : ''} with readings outside the meter's range, not drawn`;
}

/** Whether the chart shades each period's lowest to highest: over long ranges, for measurements (not fall events). */
export function hasBand(series: Series): boolean {
  return series.bucketMs !== null && series.type !== 'fall';
}

/**
 * One chart per reading type with uPlot: the series (means per bucket over long ranges) and this patient's
 * alert thresholds as dashed lines, so a clinician sees at a glance how far a value is from a line.
 */
export function drawChart(container: HTMLElement, series: Series, thresholds: readonly Threshold[], range: { from: number; to: number }): UPlot {
  const fields = plottedFields(series);
  const xs = series.points.map((p) => p.time / 1000);
  const data: (number | null)[][] = [xs];
  const uSeries: UPlot.Series[] = [{}];
  fields.forEach((field, i) => {
    data.push(series.points.map((p) => p.mean[field] ?? null));
    uSeries.push({
      label: series.fields.length > 1 || fields.length > 1 ? field : typeLabel(series.type),
      stroke: COLORS[i % COLORS.length],
      width: 2,
      spanGaps: false,
      points: { show: series.points.length < 120 || series.type === 'fall', size: series.type === 'fall' ? 8 : 5 },
      // Falls are events: a line from one to the next would draw a trend of detector confidence that means nothing.
      ...(series.type === 'fall' ? { paths: () => null } : {}),
      value: (_u, v) => (v === null || v === undefined ? '–' : formatValue(series.type, Number(v))),
    });
  });
  // Over long ranges a bucket's mean hides its extremes (a night's hypo in a day of CGM): draw min and max as a
  // shaded band around the mean.
  const bands: UPlot.Band[] = [];
  if (hasBand(series)) {
    fields.forEach((field, i) => {
      const color = COLORS[i % COLORS.length]!;
      data.push(series.points.map((p) => p.max[field] ?? null));
      uSeries.push({ label: `${field} max`, stroke: `${color}55`, width: 1, points: { show: false } });
      data.push(series.points.map((p) => p.min[field] ?? null));
      uSeries.push({ label: `${field} min`, stroke: `${color}55`, width: 1, points: { show: false } });
      bands.push({ series: [data.length - 2, data.length - 1], fill: `${color}1f` });
    });
  }
  // Threshold lines span the whole range: two points at its edges, so zooming keeps them.
  const rangeXs = [range.from / 1000, range.to / 1000];
  const allXs = [...new Set([...rangeXs, ...xs])].sort((a, b) => a - b);
  const reindex = (values: (number | null)[]) => {
    const byX = new Map(xs.map((x, i) => [x, values[i] ?? null]));
    return allXs.map((x) => byX.get(x) ?? null);
  };
  const aligned: (number | null)[][] = [allXs, ...data.slice(1).map(reindex)];
  for (const t of thresholdLines(series, thresholds)) {
    aligned.push(allXs.map(() => t.value));
    uSeries.push({
      label: `${t.severity} ${t.field} ${t.op} ${t.value}`,
      stroke: THRESHOLD_COLORS[t.severity] ?? '#475569',
      dash: [6, 4],
      width: 1.5,
      points: { show: false },
      spanGaps: true,
    });
  }
  const width = Math.max(240, container.clientWidth - 8);
  const options: UPlot.Options = {
    width,
    height: 220,
    series: uSeries,
    scales: { x: { time: true, min: range.from / 1000, max: range.to / 1000 } },
    axes: [{ stroke: '#475569', grid: { stroke: '#e2e8f0' } }, { stroke: '#475569', grid: { stroke: '#e2e8f0' }, label: UNITS[series.type] ?? '', size: 56 }],
    // uPlot's own legend lists every series (bands and alert lines too) with "--" until hovered: the figure
    // draws a key of its own (chart-figure.ts) and says the values in words.
    legend: { show: false },
    bands,
    cursor: { drag: { x: true, y: false } },
  };
  const chart = new uPlot(options, aligned as UPlot.AlignedData, container);
  new ResizeObserver(() => chart.setSize({ width: Math.max(240, container.clientWidth - 8), height: 220 })).observe(container);
  return chart;
}
