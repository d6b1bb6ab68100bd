import type { CheckinObservationApi, PatientCheckins, QuestionnaireApi } from '../../../domain/api/index.js';
import { api } from './api.js';
import { labelled, table } from './care-panel.js';
import { failureText } from './dialogs.js';
import { announce, clear, h } from './dom.js';
import { dateTime } from './format.js';

const DAYS = 14;
/** Columns in the timeline: the latest check-ins answered. */
const MAX_COLUMNS = 10;
const TEMPLATES = ['heart_failure', 'copd'] as const;
const ALL_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

const daysText = (days: readonly string[]) => (days.length === 7 ? 'every day' : days.join(', '));
const list = (text: string) => text.split(',').map((t) => t.trim()).filter(Boolean);

/**
 * The patient page's "Symptom check-ins" panel (docs/checkins.md): the questionnaires of the plan with their local
 * times and days (edited here, or from a programme's template), and a timeline of the answers, one row per
 * question and one column per check-in answered, each cell the answer, shaded by how far from the patient's usual.
 */
export class CheckinPanel {
  readonly #patientId: string;
  readonly #body = h('div', { class: 'care-body pad' }, h('p', { class: 'muted' }, 'Loading the check-ins…'));
  readonly element: HTMLElement;

  constructor(patientId: string) {
    this.#patientId = patientId;
    this.element = h(
      'section',
      { class: 'panel care', 'aria-labelledby': 'checkins-title', 'data-panel': 'checkins' },
      h('header', { class: 'panel-header' }, h('h2', { id: 'checkins-title', tabindex: '-1' }, 'Symptom check-ins')),
      this.#body,
    );
  }

  get #url(): string {
    return `/api/patients/${encodeURIComponent(this.#patientId)}/care/checkins`;
  }

  async load(background = false): Promise<void> {
    try {
      const data = await api<PatientCheckins>('GET', `${this.#url}?days=${DAYS}`, undefined, { background });
      if (background && this.#body.contains(document.activeElement) && document.activeElement?.matches('input, textarea, select')) return;
      clear(this.#body);
      this.#body.append(this.#plan(data), ...this.#timelines(data));
    } catch {
      clear(this.#body);
      this.#body.append(h('p', { class: 'muted', role: 'status' }, 'The check-ins could not be loaded.'));
    }
  }

  async #save(what: string, body: unknown): Promise<void> {
    try {
      await api('PUT', this.#url, body);
      announce(what);
      await this.load();
    } catch (err) {
      announce(failureText(err), 'error');
    }
  }

  #plan(data: PatientCheckins): HTMLElement {
    const title = (id: string) => data.questionnaires.find((q) => q.id === id)?.title ?? id;
    const planned = data.plan?.checkins ?? [];
    const rows = planned.map((c) => [title(c.questionnaire), c.times.join(', '), daysText(c.days), `${c.windowMinutes} min`]);
    const times = planned.map((c) => h('input', { type: 'text', value: c.times.join(', '), autocomplete: 'off' }));
    const days = planned.map((c) => h('input', { type: 'text', value: c.days.length === 7 ? '' : c.days.join(', '), placeholder: 'every day', autocomplete: 'off' }));
    const template = h('select', {}, TEMPLATES.map((t) => h('option', { value: t }, t.replace('_', ' '))));
    return h(
      'div',
      { 'data-checkins': 'plan' },
      data.plan ? h('p', { class: 'muted' }, `Changed ${dateTime(data.plan.updatedAt)} by ${data.plan.updatedBy}. Times are the patient's local times (${data.timeZone}).`) : h('p', {}, 'No check-ins yet: apply a programme template, then adjust the times.'),
      table('Planned check-ins', ['Questionnaire', 'Times', 'Days', 'Answer within'], rows),
      planned.length
        ? h(
            'form',
            {
              class: 'care-form',
              onsubmit: (e: Event) => {
                e.preventDefault();
                const checkins = planned.map((c, i) => ({ ...c, times: list(times[i]!.value), days: list(days[i]!.value.toLowerCase()).length ? list(days[i]!.value.toLowerCase()) : ALL_DAYS }));
                void this.#save('Check-ins saved', { checkins });
              },
            },
            planned.flatMap((c, i) => [labelled(`${title(c.questionnaire)}: times (HH:MM, comma-separated)`, times[i]!), labelled(`${title(c.questionnaire)}: days (mon, tue, …; empty: every day)`, days[i]!)]),
            h('button', { type: 'submit', class: 'btn btn-small' }, 'Save check-ins'),
          )
        : null,
      h(
        'form',
        { class: 'care-form', onsubmit: (e: Event) => (e.preventDefault(), void this.#save('Check-in template applied', { template: template.value })) },
        labelled('Check-in template', template),
        h('button', { type: 'submit', class: 'btn btn-small' }, planned.length ? 'Replace with template' : 'Apply template'),
      ),
    );
  }

  /** One timeline per questionnaire answered in the period. */
  #timelines(data: PatientCheckins): HTMLElement[] {
    const out: HTMLElement[] = [];
    for (const q of data.questionnaires) {
      const answers = data.answers.filter((a) => a.questionnaire === q.id);
      if (answers.length > 0) out.push(timeline(q, answers));
    }
    if (out.length === 0) out.push(h('p', { class: 'muted', 'data-checkins': 'timeline' }, `No answers in the last ${DAYS} days.`));
    return out;
  }
}

function timeline(q: QuestionnaireApi, answers: readonly CheckinObservationApi[]): HTMLElement {
  const checkins = [...new Set(answers.map((a) => a.inboxId))].slice(-MAX_COLUMNS);
  const at = new Map(answers.map((a) => [a.inboxId, a.at]));
  const rows = q.items.map((item) => [
    item.text,
    ...checkins.map((id) => {
      const a = answers.find((x) => x.inboxId === id && x.question === item.id);
      if (!a) return h('span', { class: 'muted' }, '–');
      const text = item.answers.find((o) => o.code === a.answer)?.text ?? a.answer;
      return h('span', { class: `checkin-answer checkin-score-${Math.min(a.score, 2)}` }, text);
    }),
  ]);
  return h('div', { class: 'checkin-timeline', 'data-checkins': 'timeline' }, table(`${q.title}: answers, oldest first (shaded: worse than usual)`, ['Question', ...checkins.map((id) => dateTime(at.get(id)!))], rows));
}
