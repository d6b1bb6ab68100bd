import type { ProgrammeReport, ProgrammeRow } from '../../../domain/api/index.js';
import { api } from './api.js';
import { clear, h } from './dom.js';

type Sort = 'name' | 'days' | 'code' | 'acknowledged' | 'minutes';

/** The table's sortable columns, with the API's sort key of each (the CSV download keeps the order shown). */
const COLUMNS: readonly { label: string; sort?: Sort }[] = [
  { label: 'Patient', sort: 'name' },
  { label: 'Period (local days)' },
  { label: 'Days with readings', sort: 'days' },
  { label: 'Code reached', sort: 'code' },
  { label: '16 days reachable' },
  { label: 'Alerts acknowledged', sort: 'acknowledged' },
  { label: 'Resolved by a person' },
  { label: 'Notes' },
  { label: 'Minutes, acknowledged to resolved', sort: 'minutes' },
  { label: 'PDF' },
];

function row(r: ProgrammeRow): HTMLTableRowElement {
  const cells = [
    `${r.period.from} to ${r.period.to} (day ${r.period.elapsedDays} of 30, period ${r.period.index})`,
    String(r.daysWithReadings),
    r.code ?? 'none (under 2 days)',
    r.can16 ? 'Yes' : 'No',
    String(r.alerts.acknowledged),
    String(r.alerts.resolvedByPerson),
    String(r.alerts.notes),
    String(r.alerts.elapsedMinutes),
  ];
  return h(
    'tr',
    { 'data-patient': r.patientId },
    h('th', { scope: 'row' }, h('a', { href: `#/patients/${encodeURIComponent(r.patientId)}` }, r.name), h('span', { class: 'muted' }, ` ${r.patientId}`)),
    cells.map((c) => h('td', {}, c)),
    h('td', {}, h('a', { href: `/api/patients/${encodeURIComponent(r.patientId)}/reports/programme?format=pdf`, download: '', 'aria-label': `PDF: programme report of ${r.name}` }, 'PDF')),
  );
}

/**
 * The programme report (docs/reports.md): each patient of the user's care teams over their current 30-day
 * period, the days with readings and the CMS device-supply code they reach, and the alert work people
 * documented; sorted by a column header (a button, with aria-sort), downloadable as CSV in the order shown.
 */
export class ProgrammeView {
  readonly element: HTMLElement;
  readonly #body = h('tbody');
  readonly #head = h('tr');
  readonly #status = h('p', { class: 'muted pad', role: 'status' });
  readonly #csv = h('a', { class: 'btn btn-small', download: '' }, 'Download CSV');
  readonly #pdf = h('a', { class: 'btn btn-small', download: '' }, 'Download PDF');
  #sort: Sort = 'days';
  #descending = false;

  constructor() {
    this.element = h(
      'section',
      { class: 'panel programme', 'aria-labelledby': 'programme-title' },
      h('header', { class: 'panel-header' }, h('h1', { id: 'programme-title', tabindex: '-1' }, 'Programme report'), h('span', {}, this.#csv, ' ', this.#pdf)),
      h(
        'p',
        { class: 'pad muted' },
        'Distinct local days with a device reading in each patient’s current 30-day period: 16-30 days reach CPT 99454, 2-15 days 99445 (CMS 2026 Physician Fee Schedule). ',
        'Alert work is what the alert lifecycle records: acknowledgements, resolutions and notes by people, and the elapsed minutes from acknowledgement to resolution, which is time in hand, not time spent.',
      ),
      h(
        'div',
        { class: 'table-x', tabindex: '0', role: 'region', 'aria-label': 'Programme report table' },
        h('table', { class: 'data-table programme-table' }, h('caption', { class: 'sr-only' }, 'Programme report, one row per patient'), h('thead', {}, this.#head), this.#body),
      ),
      this.#status,
    );
  }

  async load(): Promise<void> {
    const params = new URLSearchParams({ sort: this.#sort, order: this.#descending ? 'desc' : 'asc' });
    this.#csv.href = `/api/reports/programme?${params}&format=csv`;
    this.#pdf.href = `/api/reports/programme?${params}&format=pdf`;
    this.#renderHead();
    try {
      const report = await api<ProgrammeReport>('GET', `/api/reports/programme?${params}`);
      clear(this.#body);
      this.#body.append(...report.rows.map(row));
      this.#status.textContent = `${report.rows.length} patients, sorted by ${report.sort.replace(' asc', ', ascending').replace(' desc', ', descending')}.`;
    } catch {
      this.#status.textContent = 'The programme report could not be loaded.';
    }
  }

  #renderHead(): void {
    clear(this.#head);
    for (const c of COLUMNS) {
      if (!c.sort) {
        this.#head.append(h('th', { scope: 'col' }, c.label));
        continue;
      }
      const active = c.sort === this.#sort;
      const sort = c.sort;
      const button = h('button', { type: 'button', class: 'th-sort', 'data-sort': sort, onclick: () => this.#sortBy(sort) }, c.label);
      this.#head.append(h('th', { scope: 'col', 'aria-sort': active ? (this.#descending ? 'descending' : 'ascending') : 'none' }, button));
    }
  }

  #sortBy(sort: Sort): void {
    this.#descending = sort === this.#sort ? !this.#descending : false;
    this.#sort = sort;
    void this.load().then(() => this.#head.querySelector<HTMLElement>(`[data-sort="${sort}"]`)?.focus());
  }
}
