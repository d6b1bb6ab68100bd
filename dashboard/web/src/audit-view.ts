import { api } from './api.js';
import { dateTime } from './format.js';
import { clear, h } from './dom.js';
import type { AuditEntry } from './types.js';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

/** `{"from":"2026-11-21T20:23:40Z","count":8}` as "from: 21 Nov 2026, 20:23 · count: 8": details a person reads. */
function detailsText(details: unknown): string {
  if (typeof details !== 'object' || details === null) return String(details);
  return Object.entries(details)
    .map(([key, value]) => `${key}: ${typeof value === 'string' && ISO_TIME.test(value) ? dateTime(Date.parse(value)) : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
    .join(' · ');
}

/** Administrators: who saw or did what, when, from where; filter, page back, export as CSV or NDJSON. */
export class AuditView {
  readonly element: HTMLElement;
  readonly #body = h('tbody');
  readonly #more: HTMLButtonElement;
  readonly #actor = h('input', { id: 'au-actor', placeholder: 'user:alice', autocomplete: 'off' });
  readonly #patient = h('input', { id: 'au-patient', placeholder: 'patient id', autocomplete: 'off' });
  readonly #exportCsv = h('a', { class: 'btn btn-small', download: '' }, 'Export CSV');
  readonly #exportJson = h('a', { class: 'btn btn-small', download: '' }, 'Export NDJSON');
  #next: number | undefined;

  constructor() {
    this.#more = h('button', { type: 'button', class: 'btn', onclick: () => void this.#page(false) }, 'Older entries');
    const form = h(
      'form',
      { class: 'filters', role: 'search', onsubmit: (e: Event) => (e.preventDefault(), void this.#page(true)) },
      h('label', { for: 'au-actor' }, 'Actor'),
      this.#actor,
      h('label', { for: 'au-patient' }, 'Patient'),
      this.#patient,
      h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Filter'),
      this.#exportCsv,
      this.#exportJson,
    );
    this.element = h(
      'section',
      { class: 'panel audit', 'aria-labelledby': 'audit-title' },
      h('header', { class: 'panel-header' }, h('h1', { id: 'audit-title', tabindex: '-1' }, 'Audit log'), form),
      // On a narrow screen the table scrolls inside its panel instead of being cut off at its edge; a scrolled box
      // must be reachable by keyboard to be scrolled (axe scrollable-region-focusable).
      h(
        'div',
        { class: 'table-x', tabindex: '0', role: 'region', 'aria-label': 'Audit entries' },
        h(
          'table',
          { class: 'data-table audit-table' },
          h('caption', { class: 'sr-only' }, 'Audit log, newest first'),
          h('thead', {}, h('tr', {}, ['When', 'Who', 'From', 'Action', 'Patient', 'Target', 'Details'].map((t) => h('th', { scope: 'col' }, t)))),
          this.#body,
        ),
      ),
      h('div', { class: 'pad' }, this.#more),
    );
  }

  #params(): URLSearchParams {
    const params = new URLSearchParams();
    if (this.#actor.value.trim()) params.set('actor', this.#actor.value.trim());
    if (this.#patient.value.trim()) params.set('patient', this.#patient.value.trim());
    return params;
  }

  async load(): Promise<void> {
    await this.#page(true);
  }

  async #page(fresh: boolean): Promise<void> {
    const params = this.#params();
    this.#exportCsv.href = `/api/audit/export?${params}&format=csv`;
    this.#exportJson.href = `/api/audit/export?${params}&format=ndjson`;
    params.set('limit', '100');
    if (!fresh && this.#next) params.set('before', String(this.#next));
    const { entries, next } = await api<{ entries: AuditEntry[]; next?: number }>('GET', `/api/audit?${params}`);
    if (fresh) clear(this.#body);
    this.#next = next;
    this.#more.hidden = next === undefined;
    for (const e of entries) {
      this.#body.append(
        h(
          'tr',
          {},
          h('td', { class: 'nowrap', 'data-col': 'when' }, dateTime(e.at)),
          h('td', {}, e.actor),
          h('td', { class: 'nowrap' }, e.origin ?? '–'),
          h('td', { class: 'nowrap' }, h('code', {}, e.action)),
          h('td', { class: 'nowrap' }, e.patientId ? h('a', { href: `#/patients/${encodeURIComponent(e.patientId)}` }, e.patientId) : '–'),
          h('td', {}, e.target ?? '–'),
          h('td', { class: 'small audit-details' }, e.details === null || e.details === undefined ? '' : detailsText(e.details)),
        ),
      );
    }
  }
}
