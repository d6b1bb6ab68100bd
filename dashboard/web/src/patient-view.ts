import type UPlot from 'uplot';
import { alertActions } from './alert-actions.js';
import { alertNotes } from './alert-notes.js';
import { api, ApiError } from './api.js';
import { drawChart, offScaleNote } from './chart.js';
import { actorText, ago, dateTime, typeLabel } from './format.js';
import { clear, h } from './dom.js';
import { patientHeader, TYPE_ORDER } from './patient-header.js';
import { rulesPanel } from './rules-panel.js';
import type { Alert, PatientRecord, Series } from './types.js';

const RANGES = [
  { key: '24h', label: '24 hours', ms: 86_400_000 },
  { key: '7d', label: '7 days', ms: 7 * 86_400_000 },
  { key: '30d', label: '30 days', ms: 30 * 86_400_000 },
  { key: '90d', label: '90 days', ms: 90 * 86_400_000 },
  { key: '1y', label: '1 year', ms: 365 * 86_400_000 },
] as const;

function table(headers: string[], rows: (Node | string)[][], caption: string): HTMLElement {
  return h(
    'table',
    { class: 'data-table' },
    h('caption', { class: 'sr-only' }, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c) => h('td', {}, c)))) : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'None'))),
  );
}

/**
 * One patient: charts of each reading type over a chosen range with the thresholds drawn, alert history,
 * devices and their status, rules with this patient's overrides and snoozes. Opening it is audited.
 */
export class PatientView {
  readonly element = h('div', { class: 'patient-view' });
  readonly patientId: string;
  #record: PatientRecord | undefined;
  #range: (typeof RANGES)[number] = RANGES[1];
  #charts: UPlot[] = [];
  #refreshTimer: number | undefined;
  #refresh = false;

  constructor(patientId: string) {
    this.patientId = patientId;
  }

  /** `refresh`: a live update of the page on screen, which the server does not audit as a new view. */
  async load(refresh = false): Promise<void> {
    this.#refresh = refresh;
    try {
      this.#record = await api<PatientRecord>('GET', `/api/patients/${encodeURIComponent(this.patientId)}`, undefined, { background: refresh });
    } catch (err) {
      clear(this.element);
      const message = err instanceof ApiError && err.status === 403 ? 'This patient is not in one of your care teams.' : err instanceof ApiError && err.status === 404 ? 'There is no such patient.' : 'The patient could not be loaded.';
      this.element.append(h('div', { class: 'panel empty-state' }, h('p', {}, message), h('a', { href: '#/', class: 'btn' }, 'Back to the worklist')));
      return;
    }
    this.#render();
    await this.#loadCharts();
  }

  /** A reading or alert of this patient arrived: refresh in a moment (several events make one refresh). */
  changed(): void {
    window.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = window.setTimeout(() => void this.load(true), 1_500);
  }

  /**
   * After the clinician changed something here: show it now (the page was already viewed, so not audited
   * again). The page is rebuilt, so focus goes back to the rule that was acted on, not to the top of the page.
   */
  readonly #reload = () => {
    const ruleId = document.activeElement?.closest<HTMLElement>('[data-rule-id]')?.dataset.ruleId;
    void this.load(true).then(() => {
      if (ruleId) this.element.querySelector<HTMLElement>(`[data-rule-id="${CSS.escape(ruleId)}"]`)?.focus();
    });
  };

  #alertItem(a: Alert): HTMLElement {
    return h(
      'li',
      { class: `feed-item sev-${a.severity} status-${a.status}`, 'data-alert-id': a.id },
      h('div', { class: 'feed-item-head' }, h('span', { class: `sev-badge sev-${a.severity}` }, a.severity), h('strong', {}, a.title), h('time', { title: dateTime(a.updatedAt) }, ago(a.updatedAt))),
      h('div', { class: 'feed-message' }, a.message),
      alertNotes(a),
      alertActions(a, this.#reload),
    );
  }

  #render(): void {
    const r = this.#record!;
    clear(this.element);
    const rangeButtons = RANGES.map((range) =>
      h(
        'button',
        {
          type: 'button',
          class: `seg${range.key === this.#range.key ? ' seg-on' : ''}`,
          'aria-pressed': String(range.key === this.#range.key),
          onclick: () => {
            this.#range = range;
            // Another range is another view of the patient's data: audited.
            this.#refresh = false;
            this.#render();
            void this.#loadCharts();
          },
        },
        range.label,
      ),
    );
    const liveAlerts = r.alerts.filter((a) => a.status !== 'resolved');
    this.element.append(
      patientHeader(r, this.#reload),
      h(
        'div',
        { class: 'patient-grid' },
        h(
          'section',
          { class: 'panel charts', 'aria-labelledby': 'charts-title' },
          h(
            'header',
            { class: 'panel-header' },
            h('h3', { id: 'charts-title' }, 'Readings'),
            h('div', { class: 'segmented no-print', role: 'group', 'aria-label': 'Time range' }, rangeButtons),
            h('span', { class: 'print-only' }, `Last ${this.#range.label}, printed ${new Date().toLocaleString()}`),
            h('button', { type: 'button', class: 'btn btn-small no-print', onclick: () => window.print() }, 'Print report'),
          ),
          h('div', { id: 'chart-list', class: 'chart-list' }, h('p', { class: 'muted' }, 'Loading charts…')),
        ),
        h(
          'div',
          { class: 'side' },
          h(
            'section',
            { class: 'panel', 'aria-labelledby': 'pa-title' },
            h('header', { class: 'panel-header' }, h('h3', { id: 'pa-title' }, `Open alerts (${liveAlerts.length})`)),
            liveAlerts.length
              ? h('ol', { class: 'feed-list' }, liveAlerts.map((a) => this.#alertItem(a)))
              : h('p', { class: 'muted pad' }, 'No open alerts.'),
          ),
          h(
            'section',
            { class: 'panel', 'aria-labelledby': 'dev-title' },
            h('header', { class: 'panel-header' }, h('h3', { id: 'dev-title' }, 'Devices')),
            table(
              ['Device', 'Status', 'Battery', 'Last seen'],
              r.devices.map((d) => [
                d.id,
                h('span', { class: `dot ${d.revokedAt ? 'dot-off' : d.online ? 'dot-on' : 'dot-idle'}` }, d.revokedAt ? 'revoked' : d.online ? 'online' : 'offline'),
                d.battery === null ? '–' : `${Math.round(d.battery)} %`,
                ago(d.lastSeenAt),
              ]),
              'Devices of the patient',
            ),
          ),
        ),
      ),
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'hist-title' },
        h('header', { class: 'panel-header' }, h('h3', { id: 'hist-title' }, 'Alert history')),
        table(
          ['Opened', 'Severity', 'Alert', 'Status', 'By', 'Note'],
          r.alerts.map((a) => [
            dateTime(a.openedAt),
            h('span', { class: `sev-badge sev-${a.severity}` }, a.severity),
            `${a.title}${a.count > 1 ? ` (×${a.count})` : ''}`,
            a.status,
            a.resolvedBy ?? a.acknowledgedBy ? actorText(a.resolvedBy ?? a.acknowledgedBy) : '–',
            [a.acknowledgeNote, a.resolveNote].filter(Boolean).join(' / '),
          ]),
          'Alert history',
        ),
      ),
      rulesPanel(r, this.#reload),
    );
  }

  async #loadCharts(): Promise<void> {
    const r = this.#record!;
    const list = this.element.querySelector<HTMLElement>('#chart-list');
    if (!list) return;
    for (const c of this.#charts) c.destroy();
    this.#charts = [];
    const types = TYPE_ORDER.filter((t) => r.latest.some((l) => l.type === t));
    const to = Date.now();
    const from = to - this.#range.ms;
    const series = await Promise.all(
      types.map((type) => api<Series>('GET', `/api/patients/${encodeURIComponent(this.patientId)}/readings?type=${type}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`, undefined, { background: this.#refresh })),
    );
    clear(list);
    if (types.length === 0) list.append(h('p', { class: 'muted pad' }, 'No readings yet.'));
    series.forEach((s) => {
      const offScale = offScaleNote(s);
      const box = h(
        'figure',
        { class: 'chart', 'data-type': s.type },
        h(
          'figcaption',
          {},
          typeLabel(s.type),
          h('span', { class: 'muted small' }, s.bucketMs ? ` · mean per ${s.bucketMs >= 86_400_000 ? `${s.bucketMs / 86_400_000} d` : s.bucketMs >= 3_600_000 ? `${s.bucketMs / 3_600_000} h` : `${s.bucketMs / 60_000} min`}` : ` · ${s.points.length} readings`),
          offScale ? [' · ', h('span', { class: 'flag' }, offScale)] : null,
        ),
      );
      list.append(box);
      if (s.points.length === 0) box.append(h('p', { class: 'muted pad' }, 'No readings in this range.'));
      else this.#charts.push(drawChart(box, s, r.thresholds, { from, to }));
    });
  }

  stop(): void {
    window.clearTimeout(this.#refreshTimer);
    for (const c of this.#charts) c.destroy();
  }
}
