import type UPlot from 'uplot';
import { drawChart, hasBand, offScaleNote, plottedFields, thresholdLines } from './chart.js';
import { bucketText, chartSummary, chartTable, fieldLabel, lineText } from './chart-text.js';
import { typeLabel } from './format.js';
import { h } from './dom.js';
import type { Series, Threshold } from './types.js';

export interface ChartRange {
  readonly label: string;
  readonly from: number;
  readonly to: number;
}

/**
 * What each line of the chart is, under it: the plotted fields in their colours, the band of lowest to highest
 * over long ranges, and the patient's alert lines by severity with their values ("Critical: systolic > 180,
 * diastolic > 120 mmHg"). The colours are classes (app.css), the same as chart.ts draws.
 */
function chartKey(s: Series, thresholds: readonly Threshold[]): HTMLElement {
  const lines = thresholdLines(s, thresholds);
  const severities = ['critical', 'warning', 'info'].filter((sev) => lines.some((t) => t.severity === sev));
  return h(
    'ul',
    { class: 'chart-key' },
    plottedFields(s).map((f, i) => h('li', {}, h('span', { class: `key-swatch key-line-${i}` }), fieldLabel(s, f))),
    hasBand(s) ? h('li', {}, h('span', { class: 'key-swatch key-band' }), 'lowest to highest') : null,
    severities.map((sev) =>
      h('li', {}, h('span', { class: `key-swatch key-${sev}` }), `${sev.charAt(0).toUpperCase()}${sev.slice(1)}: ${lineText(s, lines.filter((t) => t.severity === sev))}`),
    ),
  );
}

export interface ChartFigure {
  readonly element: HTMLElement;
  /** Draws the chart once the figure is in the page (uPlot sizes itself to it); undefined when there is nothing to draw. */
  draw(): UPlot | undefined;
}

/**
 * One reading type's chart as a figure: caption; the plot, an image named for screen readers and described by
 * a summary in words; and, beside it, a button that shows the table of the plotted values (built when first
 * opened: a year of readings is hundreds of rows). `tableOpen` keeps it open across the page's live refreshes.
 */
export function chartFigure(s: Series, thresholds: readonly Threshold[], range: ChartRange, tableOpen: boolean, onToggle: (open: boolean) => void): ChartFigure {
  const id = `chart-${s.type}`;
  const offScale = offScaleNote(s);
  const bucket = bucketText(s);
  const summary = h('p', { class: 'chart-summary', id: `${id}-summary` }, chartSummary(s, thresholds, range.label));
  const plot = h('div', { class: 'chart-plot', role: 'img', 'aria-label': `Chart of ${typeLabel(s.type).toLowerCase()}, last ${range.label}`, 'aria-describedby': summary.id });
  const tableBox = h('div', { class: 'chart-table-box', id: `${id}-table`, hidden: !tableOpen });
  // A scrolled box must be reachable by keyboard to be scrolled (axe scrollable-region-focusable): a named region in the tab order.
  const fill = () => {
    if (!tableBox.childElementCount) tableBox.append(h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `${typeLabel(s.type)} values` }, chartTable(s, range.label)));
  };
  if (tableOpen) fill();
  const toggle = h('button', { type: 'button', class: 'btn btn-small btn-quiet table-toggle no-print', 'data-action': 'table', 'aria-expanded': String(tableOpen), 'aria-controls': tableBox.id }, 'Table of values');
  toggle.addEventListener('click', () => {
    const open = tableBox.hidden !== false;
    if (open) fill();
    tableBox.hidden = !open;
    toggle.setAttribute('aria-expanded', String(open));
    onToggle(open);
  });
  const element = h(
    'figure',
    { class: 'chart', 'data-type': s.type },
    h(
      'figcaption',
      {},
      typeLabel(s.type),
      h('span', { class: 'muted small' }, bucket ? ` · ${bucket}` : ` · ${s.points.length} readings`),
      offScale ? [' · ', h('span', { class: 'flag' }, offScale)] : null,
    ),
    s.points.length ? [plot, chartKey(s, thresholds), summary, toggle, tableBox] : h('p', { class: 'muted pad' }, 'No readings in this range.'),
  );
  return { element, draw: () => (s.points.length ? drawChart(plot, s, thresholds, range) : undefined) };
}
