import { reply } from './announcer.js';
import { api } from './api.js';
import { ago, PROGRAMME_LABELS, readingText, shortTypeLabel, typeLabel } from './format.js';
import { clear, h } from './dom.js';
import { keepFocus } from './focus.js';
import type { Worklist, WorklistEntry } from './types.js';

/**
 * Latest readings shown in a row: two chips fit its height (a third was cut off); the rest are counted in a
 * "+3 more" chip, and all are on the patient's page.
 */
const SHOWN_CHIPS = 2;

/** The rows' fixed height, from the style sheet (--wl-row-height): taller on a narrow screen, where a row takes two lines. */
function rowHeight(el: Element): number {
  return parseFloat(getComputedStyle(el).getPropertyValue('--wl-row-height')) || 72;
}
const OVERSCAN = 6;
const ATTENTION_LABEL = { critical: 'Critical', warning: 'Warning', silent: 'No data', info: 'Info', ok: 'Stable' } as const;

/**
 * The worklist: patients ranked by the server by what needs attention. Thousands of rows stay fast because only
 * the rows in view exist in the page (a virtualised list of fixed-height rows). Live changes mark it stale; it
 * is fetched again at most every two seconds, so a busy fleet never freezes the page.
 */
export class WorklistView {
  readonly element: HTMLElement;
  readonly #viewport: HTMLElement;
  readonly #spacer: HTMLElement;
  readonly #rows: HTMLElement;
  readonly #summary: HTMLElement;
  readonly #team: HTMLSelectElement;
  readonly #programme: HTMLSelectElement;
  readonly #search: HTMLInputElement;
  #entries: WorklistEntry[] = [];
  /** The newest alert transition already reflected in the last worklist fetched. */
  lastSeq = 0;
  #loadedAt = 0;
  #names = new Map<string, string>();
  #stale = false;
  #loading: Promise<void> | undefined;
  #renderQueued = false;
  readonly #timer: number;

  constructor() {
    this.#search = h('input', { type: 'search', id: 'wl-search', placeholder: 'Name or id', autocomplete: 'off' });
    this.#programme = h('select', { id: 'wl-programme' }, h('option', { value: '' }, 'All programmes'), Object.entries(PROGRAMME_LABELS).map(([v, l]) => h('option', { value: v }, l)));
    this.#team = h('select', { id: 'wl-team' }, h('option', { value: '' }, 'All care teams'));
    let debounce: number | undefined;
    this.#search.addEventListener('input', () => {
      window.clearTimeout(debounce);
      debounce = window.setTimeout(() => void this.load(false), 250);
    });
    this.#programme.addEventListener('change', () => void this.load(false));
    this.#team.addEventListener('change', () => void this.load(false));
    // Not a live region: it changes with every refresh. The user's own filtering is answered (see load).
    this.#summary = h('p', { class: 'wl-summary' });
    this.#spacer = h('div', { class: 'wl-spacer' });
    // A real list of links (WCAG 4.1.2): each row is a link to the patient inside a list item.
    this.#rows = h('ul', { class: 'wl-rows', 'aria-labelledby': 'wl-title' });
    this.#viewport = h('div', { class: 'wl-viewport', tabindex: '-1' }, this.#spacer, this.#rows);
    this.#viewport.addEventListener('scroll', () => this.#queueRender(), { passive: true });
    new ResizeObserver(() => this.#queueRender()).observe(this.#viewport);
    this.element = h(
      'section',
      { class: 'panel worklist', 'aria-labelledby': 'wl-title' },
      h(
        'header',
        { class: 'panel-header' },
        h('h1', { id: 'wl-title', tabindex: '-1' }, 'Worklist'),
        h(
          'div',
          { class: 'filters', role: 'search' },
          h('label', { for: 'wl-search', class: 'sr-only' }, 'Search patients'),
          this.#search,
          h('label', { for: 'wl-programme', class: 'sr-only' }, 'Programme'),
          this.#programme,
          h('label', { for: 'wl-team', class: 'sr-only' }, 'Care team'),
          this.#team,
        ),
      ),
      this.#summary,
      this.#viewport,
    );
    // Every 2 s at most; a long list (thousands of patients) less often, so that parsing it stays a small share of the page's time.
    this.#timer = window.setInterval(() => {
      const every = Math.max(2_000, this.#entries.length);
      if (this.#stale && !this.#loading && Date.now() - this.#loadedAt >= every) void this.load(true);
    }, 1_000);
  }

  nameOf(patientId: string): string | undefined {
    return this.#names.get(patientId);
  }

  /** Something changed (an alert or a reading): fetch the ranking again soon. */
  markStale(): void {
    this.#stale = true;
  }

  load(refresh: boolean): Promise<void> {
    const params = new URLSearchParams();
    if (this.#search.value.trim()) params.set('q', this.#search.value.trim());
    if (this.#programme.value) params.set('programme', this.#programme.value);
    if (this.#team.value) params.set('team', this.#team.value);
    this.#stale = false;
    this.#loadedAt = Date.now();
    this.#loading = api<Worklist>('GET', `/api/worklist?${params}`, undefined, { background: refresh })
      .then((list) => {
        this.#entries = list.entries;
        this.lastSeq = list.lastSeq;
        // The server ranked the list a moment before readings it has now: ask again at the next refresh.
        if (list.newerReadings) this.#stale = true;
        for (const e of list.entries) this.#names.set(e.patient.id, e.patient.name);
        this.#updateTeams(list.teams);
        this.#updateSummary();
        // Said once, in answer to the user's filter; a background refresh changes the text silently.
        if (!refresh) reply(this.#summary.textContent ?? '');
        this.#queueRender();
      })
      .catch((err: unknown) => {
        // Not loaded (the server busy, the network gone): still stale, so that the next refresh asks again.
        this.#stale = true;
        throw err;
      })
      .finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  #updateTeams(teams: string[]): void {
    const current = this.#team.value;
    const known = [...this.#team.options].slice(1).map((o) => o.value);
    if (known.join('\n') === teams.join('\n')) return;
    clear(this.#team);
    this.#team.append(h('option', { value: '' }, 'All care teams'), ...teams.map((t) => h('option', { value: t, selected: t === current }, t)));
  }

  #updateSummary(): void {
    const count = (a: string) => this.#entries.filter((e) => e.attention === a).length;
    const text = `${this.#entries.length} patient${this.#entries.length === 1 ? '' : 's'} · ${count('critical')} critical · ${count('warning')} warning · ${count('silent')} without recent data`;
    if (this.#summary.textContent !== text) this.#summary.textContent = text;
  }

  #queueRender(): void {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => {
      this.#renderQueued = false;
      this.#render();
    });
  }

  #render(): void {
    const total = this.#entries.length;
    const ROW_HEIGHT = rowHeight(this.#viewport);
    this.#spacer.style.height = `${total * ROW_HEIGHT}px`;
    const first = Math.max(0, Math.floor(this.#viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(total, Math.ceil((this.#viewport.scrollTop + this.#viewport.clientHeight) / ROW_HEIGHT) + OVERSCAN);
    this.#rows.style.transform = `translateY(${first * ROW_HEIGHT}px)`;
    const now = Date.now();
    // Rows are rebuilt on every refresh and scroll: the focused patient's row keeps the focus (or, if the
    // ranking moved them out of view, the list does), so a live update never throws the reader out.
    keepFocus(
      this.#rows,
      () => {
        clear(this.#rows);
        if (total === 0) this.#rows.append(h('li', { class: 'empty' }, 'No patients match.'));
        for (let i = first; i < last; i++) this.#rows.append(this.#row(this.#entries[i]!, i, now));
      },
      () => this.#viewport,
    );
  }

  #row(e: WorklistEntry, index: number, now: number): HTMLElement {
    const latest = e.latest;
    const unacknowledged = e.unacknowledged > 0 ? h('span', { class: 'unack', title: 'not acknowledged yet' }, String(e.unacknowledged), h('span', { class: 'sr-only' }, ' not acknowledged')) : null;
    // Only the rows in view exist: position and size tell a screen reader where in the whole list this one is.
    const link = h(
      'a',
      { class: `wl-row att-${e.attention}`, href: `#/patients/${encodeURIComponent(e.patient.id)}`, 'data-patient-id': e.patient.id },
      h('span', { class: `att-badge att-${e.attention}` }, ATTENTION_LABEL[e.attention], unacknowledged),
      h(
        'span',
        { class: 'wl-who' },
        h('strong', { title: e.patient.name }, e.patient.name),
        h('span', { class: 'muted' }, [e.patient.programmes.map((p) => PROGRAMME_LABELS[p] ?? p).join(', ') || 'No programme', e.patient.careTeam].filter(Boolean).join(' · '), riskChip(e)),
      ),
      h('span', { class: 'wl-alert' }, e.topAlert ? h('span', { title: e.topAlert.title }, e.topAlert.title) : h('span', { class: 'muted' }, e.attention === 'silent' ? `No readings since ${ago(e.lastReadingAt, now)}` : 'No open alerts')),
      h(
        'span',
        { class: 'wl-latest' },
        latest.length
          ? [
              ...latest.slice(0, SHOWN_CHIPS).map((r) => h('span', { class: 'chip', title: `${typeLabel(r.type)} ${readingText(r)} ${ago(r.time, now)}` }, h('span', { class: 'chip-label' }, shortTypeLabel(r.type)), ` ${readingText(r)} `, h('span', { class: 'muted' }, ago(r.time, now)))),
              latest.length > SHOWN_CHIPS
                ? h('span', { class: 'chip chip-more', title: latest.slice(SHOWN_CHIPS).map((r) => `${typeLabel(r.type)} ${readingText(r)}`).join(', ') }, `+${latest.length - SHOWN_CHIPS} more`)
                : null,
            ]
          : h('span', { class: 'muted' }, 'No readings yet'),
      ),
    );
    return h('li', { 'aria-posinset': index + 1, 'aria-setsize': this.#entries.length }, link);
  }

  stop(): void {
    window.clearInterval(this.#timer);
  }
}

/**
 * The risk score (docs/reports.md) after the programmes, its parts in words in the tooltip. The row's link name
 * keeps only "Risk N": every row read out with all its parts would bury the alert; the patient page lists them.
 */
function riskChip(e: WorklistEntry): HTMLElement | null {
  const r = e.risk;
  if (r.parts.length + r.trends.length === 0) return null;
  return h('span', { class: `wl-risk risk-${r.band}`, title: `Risk score ${r.score}: ${r.text}`, 'data-risk': String(r.score) }, ` · Risk ${r.score}`);
}
