import type UPlot from 'uplot';
import { alertActions } from './alert-actions.js';
import { alertNotes } from './alert-notes.js';
import { api, ApiError } from './api.js';
import { chartFigure } from './chart-figure.js';
import { actorText, ago, alertDetail, dateTime } from './format.js';
import { clear, h } from './dom.js';
import { keepFocus } from './focus.js';
import { setViewTitle } from './page-title.js';
import { patientDataPanel } from './patient-data-panel.js';
import { patientHeader, TYPE_ORDER } from './patient-header.js';
import { ReportView } from './report-view.js';
import { CarePanel } from './care-panel.js';
import { CheckinPanel } from './checkin-panel.js';
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
  // Until the record comes, a heading to land on (the shell focuses it); the real one replaces it, focus kept.
  readonly element = h('div', { class: 'patient-view' }, h('div', { class: 'panel pad' }, h('h1', { tabindex: '-1', 'data-focus': 'title' }, 'Loading patient…')));
  readonly patientId: string;
  #record: PatientRecord | undefined;
  #range: (typeof RANGES)[number] = RANGES[1];
  #charts: UPlot[] = [];
  /** Kept across rebuilds, so that a live refresh redraws the charts in place instead of emptying them first. */
  readonly #chartList = h('div', { id: 'chart-list', class: 'chart-list' }, h('p', { class: 'muted' }, 'Loading charts…'));
  /** The charts whose table of values is open (by reading type), kept open across refreshes. */
  readonly #openTables = new Set<string>();
  #refreshTimer: number | undefined;
  #refresh = false;
  /** Kept across rebuilds like the charts: its own request, reloaded in the background on live refreshes. */
  readonly #reports: ReportView;
  readonly #care: CarePanel;
  readonly #checkins: CheckinPanel;

  /** The page also offers the patient's export and erasure (administrators). */
  readonly #admin: boolean;

  constructor(patientId: string, admin = false) {
    this.patientId = patientId;
    this.#admin = admin;
    this.#reports = new ReportView(patientId);
    this.#checkins = new CheckinPanel(patientId);
    this.#care = new CarePanel(patientId, () => (this.#record?.alerts ?? []).filter((a) => a.status !== 'resolved'));
  }

  #title(): HTMLElement | null {
    return this.element.querySelector<HTMLElement>('h1');
  }

  /** `refresh`: a live update of the page on screen, which the server does not audit as a new view. */
  async load(refresh = false): Promise<void> {
    this.#refresh = refresh;
    try {
      this.#record = await api<PatientRecord>('GET', `/api/patients/${encodeURIComponent(this.patientId)}`, undefined, { background: refresh });
    } catch (err) {
      // The server answers a patient of another care team as one that does not exist (it does not say which ids
      // exist), so the page cannot tell the two apart either and names both.
      const message = err instanceof ApiError && err.status === 404 ? 'There is no such patient, or the patient is not in one of your care teams.' : 'The patient could not be loaded.';
      setViewTitle('Patient not available');
      keepFocus(this.element, () => {
        clear(this.element);
        this.element.append(h('div', { class: 'panel empty-state' }, h('h1', { tabindex: '-1', 'data-focus': 'title' }, 'Patient not available'), h('p', {}, message), h('a', { href: '#/', class: 'btn' }, 'Back to the worklist')));
      });
      return;
    }
    setViewTitle(this.#record.patient.name);
    // A live refresh or an action rebuilds the page: focus stays on the control (or the alert, rule or panel) it was on.
    keepFocus(this.element, () => this.#render(), () => this.#title());
    await Promise.all([this.#loadCharts(), this.#reports.load(refresh), this.#care.load(refresh), this.#checkins.load(refresh)]);
  }

  /** A reading or alert of this patient arrived: refresh in a moment (several events make one refresh). */
  changed(): void {
    window.clearTimeout(this.#refreshTimer);
    this.#refreshTimer = window.setTimeout(() => void this.load(true), 1_500);
  }

  /**
   * After the clinician changed something here: show it now (the page was already viewed, so not audited
   * again). The rebuild keeps focus on what was acted on (or the rule or alert it belonged to).
   */
  readonly #reload = () => void this.load(true);

  #alertItem(a: Alert): HTMLElement {
    return h(
      'li',
      { class: `feed-item sev-${a.severity} status-${a.status}`, 'data-alert-id': a.id, tabindex: '-1' },
      h('div', { class: 'feed-item-head' }, h('span', { class: `sev-badge sev-${a.severity}` }, a.severity), h('strong', {}, a.title), h('time', { title: dateTime(a.updatedAt) }, ago(a.updatedAt))),
      alertDetail(a) ? h('div', { class: 'feed-message' }, alertDetail(a)) : null,
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
          'data-range': range.key,
          onclick: () => this.#chooseRange(range),
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
          { class: 'panel charts', 'aria-labelledby': 'charts-title', 'data-panel': 'charts' },
          h(
            'header',
            { class: 'panel-header' },
            h('h2', { id: 'charts-title', tabindex: '-1' }, 'Readings'),
            h('div', { class: 'segmented no-print', role: 'group', 'aria-label': 'Time range' }, rangeButtons),
            h('span', { class: 'print-only' }, `Last ${this.#range.label}, printed ${new Date().toLocaleString()}`),
            h('button', { type: 'button', class: 'btn btn-small no-print', 'data-action': 'print', onclick: () => window.print() }, 'Print report'),
          ),
          this.#chartList,
        ),
        h(
          'div',
          { class: 'side' },
          h(
            'section',
            { class: 'panel', 'aria-labelledby': 'pa-title', 'data-panel': 'alerts' },
            h('header', { class: 'panel-header' }, h('h2', { id: 'pa-title', tabindex: '-1' }, `Open alerts (${liveAlerts.length})`)),
            liveAlerts.length
              ? h('ol', { class: 'feed-list' }, liveAlerts.map((a) => this.#alertItem(a)))
              : h('p', { class: 'muted pad' }, 'No open alerts.'),
          ),
          h(
            'section',
            { class: 'panel', 'aria-labelledby': 'dev-title' },
            h('header', { class: 'panel-header' }, h('h2', { id: 'dev-title' }, 'Devices')),
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
        h('header', { class: 'panel-header' }, h('h2', { id: 'hist-title' }, 'Alert history')),
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
      this.#reports.element,
      this.#care.element,
      this.#checkins.element,
      rulesPanel(r, this.#reload),
      ...(this.#admin ? [patientDataPanel(r.patient.id, r.patient.name)] : []),
    );
  }

  /**
   * Another range is another view of the patient's data (audited). Only the pressed state and the charts
   * change: the page is not rebuilt, so focus stays on the button just pressed.
   */
  #chooseRange(range: (typeof RANGES)[number]): void {
    this.#range = range;
    this.#refresh = false;
    for (const button of this.element.querySelectorAll<HTMLElement>('[data-range]')) {
      const on = button.dataset.range === range.key;
      button.classList.toggle('seg-on', on);
      button.setAttribute('aria-pressed', String(on));
    }
    const printed = this.element.querySelector('.charts .print-only');
    if (printed) printed.textContent = `Last ${range.label}, printed ${new Date().toLocaleString()}`;
    void this.#loadCharts();
  }

  async #loadCharts(): Promise<void> {
    const r = this.#record!;
    const list = this.#chartList;
    const range = this.#range;
    const types = TYPE_ORDER.filter((t) => r.latest.some((l) => l.type === t));
    const to = Date.now();
    const from = to - this.#range.ms;
    const series = await Promise.all(
      types.map((type) => api<Series>('GET', `/api/patients/${encodeURIComponent(this.patientId)}/readings?type=${type}&from=${new Date(from).toISOString()}&to=${new Date(to).toISOString()}`, undefined, { background: this.#refresh })),
    );
    // Another range was chosen while these were on their way: its own load draws the charts.
    if (range !== this.#range) return;
    const figures = series.map((s) =>
      chartFigure(s, r.thresholds, { label: range.label, from, to }, this.#openTables.has(s.type), (open) => (open ? this.#openTables.add(s.type) : this.#openTables.delete(s.type))),
    );
    for (const c of this.#charts) c.destroy();
    keepFocus(
      list,
      () => {
        clear(list);
        if (types.length === 0) list.append(h('p', { class: 'muted pad' }, 'No readings yet.'));
        list.append(...figures.map((f) => f.element));
      },
      () => this.element.querySelector<HTMLElement>('#charts-title'),
    );
    this.#charts = figures.map((f) => f.draw()).filter((c): c is UPlot => c !== undefined);
  }

  stop(): void {
    window.clearTimeout(this.#refreshTimer);
    for (const c of this.#charts) c.destroy();
  }
}
