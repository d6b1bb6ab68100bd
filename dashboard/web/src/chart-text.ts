import { formatValue, plottedFields, thresholdLines } from './chart.js';
import { dateTime, typeLabel, UNITS } from './format.js';
import { h } from './dom.js';
import type { Series, Threshold } from './types.js';

/**
 * The text alternative of a chart (WCAG 1.1.1): a summary of what it shows, and a table of the values it plots.
 * A canvas says nothing to a screen reader, and a clinician at 400 % zoom reads numbers better than a line.
 */

/** "mean per 1 d": how a long range is drawn (one mean per time bucket), or undefined for raw readings. */
export function bucketText(series: Series): string | undefined {
  const ms = series.bucketMs;
  if (!ms) return undefined;
  return `mean per ${ms >= 86_400_000 ? `${ms / 86_400_000} d` : ms >= 3_600_000 ? `${ms / 3_600_000} h` : `${ms / 60_000} min`}`;
}

/** "Systolic", "Glucose", "Steps": a plotted field as a person names it. */
export function fieldLabel(series: Series, field: string): string {
  if (field === 'value' || field === 'count') return typeLabel(series.type);
  return field.charAt(0).toUpperCase() + field.slice(1);
}

/** A meter's HI or LO, which has no value to plot: said in words in the table. */
function offScale(point: Series['points'][number]): string | undefined {
  if ((point.max.hi ?? 0) >= 1) return 'HI';
  if ((point.max.lo ?? 0) >= 1) return 'LO';
  return undefined;
}

function fieldSummary(series: Series, field: string): string | undefined {
  const unit = UNITS[series.type] ? ` ${UNITS[series.type]}` : '';
  const bucketed = series.bucketMs !== null;
  const withValue = series.points.filter((p) => p.mean[field] !== undefined);
  if (!withValue.length) return undefined;
  // Over buckets, the lowest and highest single readings (the shaded band), not the lowest mean.
  const lows = withValue.map((p) => (bucketed ? p.min[field] ?? p.mean[field]! : p.mean[field]!));
  const highs = withValue.map((p) => (bucketed ? p.max[field] ?? p.mean[field]! : p.mean[field]!));
  const latest = withValue[withValue.length - 1]!.mean[field]!;
  const range = `${formatValue(series.type, Math.min(...lows))} to ${formatValue(series.type, Math.max(...highs))}${unit}`;
  return `${fieldLabel(series, field)} ${range}, latest ${bucketed ? 'mean ' : ''}${formatValue(series.type, latest)}.`;
}

/** "systolic > 180, diastolic > 120 mmHg", "value <= 83 %": alert lines with their unit, named when the chart has several fields. */
export function lineText(series: Series, lines: readonly Threshold[]): string {
  const unit = UNITS[series.type] ? ` ${UNITS[series.type]}` : '';
  const named = plottedFields(series).length > 1;
  return `${lines.map((t) => `${named ? `${fieldLabel(series, t.field).toLowerCase()} ` : ''}${t.op} ${t.value}`).join(', ')}${unit}`;
}

/** What the chart shows, in a few sentences: how many readings, when, the spread and latest of each line, the alert lines. */
export function chartSummary(series: Series, thresholds: readonly Threshold[], rangeLabel: string): string {
  const points = series.points;
  if (!points.length) return `No ${typeLabel(series.type).toLowerCase()} readings in the last ${rangeLabel}.`;
  const readings = points.reduce((n, p) => n + p.count, 0);
  const bucket = bucketText(series);
  const span = `${dateTime(points[0]!.time)} to ${dateTime(points[points.length - 1]!.time)}`;
  const head = bucket
    ? `Last ${rangeLabel}, ${bucket}: ${readings} reading${readings === 1 ? '' : 's'} in ${points.length} period${points.length === 1 ? '' : 's'}, ${span}.`
    : `Last ${rangeLabel}: ${points.length} reading${points.length === 1 ? '' : 's'}, ${span}.`;
  const fields = plottedFields(series).map((f) => fieldSummary(series, f)).filter(Boolean);
  const unit = UNITS[series.type] ? ` ${UNITS[series.type]}` : '';
  const lines = thresholdLines(series, thresholds).map((t) => `${t.severity} if ${fieldLabel(series, t.field).toLowerCase()} ${t.op} ${t.value}${unit}`);
  return [head, ...fields, lines.length ? `Alert lines: ${lines.join('; ')}.` : ''].filter(Boolean).join(' ');
}

/** Every plotted value, newest first (what a clinician looks for); over long ranges the mean, lowest and highest per period. */
export function chartTable(series: Series, rangeLabel: string): HTMLTableElement {
  const unit = UNITS[series.type] ? ` (${UNITS[series.type]})` : '';
  const bucketed = series.bucketMs !== null;
  const fields = plottedFields(series);
  const columns = bucketed ? fields.flatMap((f) => ['mean', 'lowest', 'highest'].map((k) => `${fieldLabel(series, f)} ${k}${unit}`)) : fields.map((f) => `${fieldLabel(series, f)}${unit}`);
  const cell = (p: Series['points'][number], value: number | undefined) => (value === undefined ? offScale(p) ?? '–' : formatValue(series.type, value));
  const rows = [...series.points].reverse().map((p) =>
    h(
      'tr',
      {},
      h('th', { scope: 'row' }, dateTime(p.time)),
      fields.flatMap((f) => (bucketed ? [p.mean[f], p.min[f], p.max[f]] : [p.mean[f]]).map((v) => h('td', {}, cell(p, v)))),
      bucketed ? h('td', {}, String(p.count)) : null,
    ),
  );
  return h(
    'table',
    { class: 'data-table chart-table' },
    h('caption', {}, `${typeLabel(series.type)}, last ${rangeLabel}${bucketed ? `, ${bucketText(series)}` : ''}, newest first`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, bucketed ? 'Period from' : 'Time'), columns.map((c) => h('th', { scope: 'col' }, c)), bucketed ? h('th', { scope: 'col' }, 'Readings') : null)),
    h('tbody', {}, rows),
  );
}
