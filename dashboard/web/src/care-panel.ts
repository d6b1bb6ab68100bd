import type { CareMessage, CarePlan, PatientCare, PlannedMeasurement } from '../../../domain/api/index.js';
import { api } from './api.js';
import { failureText } from './dialogs.js';
import { announce, clear, h } from './dom.js';
import { dateTime, typeLabel } from './format.js';

const DAYS = 7;
const TEMPLATES = ['hypertension', 'diabetes', 'heart_failure', 'copd'] as const;
const MEASURE_TYPES = ['blood_pressure', 'glucose', 'weight', 'spo2'] as const;
/** domain/medication-classes.ts, checked against the API type (the web bundle imports types only). */
const MEDICATION_CLASSES: readonly PatientCare['medications'][number]['class'][] = ['antihypertensive', 'diuretic', 'insulin', 'oral_antidiabetic', 'anticoagulant', 'bronchodilator', 'other'];

const pct = (share: number | null) => (share === null ? '–' : `${Math.round(share * 100)} %`);
let ids = 0;
const uid = (name: string) => `care-${name}-${++ids}`;

export function table(caption: string, headers: string[], rows: (string | Node)[][]): HTMLTableElement {
  return h(
    'table',
    { class: 'data-table' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, c) : h('td', {}, c))))) : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'None'))),
  );
}

export function labelled(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement): HTMLElement {
  control.id ||= uid('field');
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control);
}

function when(m: PlannedMeasurement): string {
  return m.continuous ? 'continuous' : m.times.join(', ');
}

function receipt(m: CareMessage): string {
  if (m.direction === 'from_patient') return 'from the patient';
  if (m.readAt) return `read ${dateTime(m.readAt)}`;
  if (m.deliveredAt) return `delivered ${dateTime(m.deliveredAt)}`;
  return 'sent, not yet delivered';
}

/**
 * The patient page's "Care plan" panel (docs/hub-protocol.md): the monitoring plan with its measurement
 * adherence, the medications with theirs, and the message thread with the patient's hub and its receipts. The
 * plan's times can be edited, a template applied, a medication added and a message sent from here.
 */
export class CarePanel {
  readonly #patientId: string;
  /** The patient's open alerts, which a message can be about (from the page's record). */
  readonly #openAlerts: () => readonly { id: number; title: string }[];
  readonly #body = h('div', { class: 'care-body pad' }, h('p', { class: 'muted' }, 'Loading the care plan…'));
  readonly element: HTMLElement;

  constructor(patientId: string, openAlerts: () => readonly { id: number; title: string }[] = () => []) {
    this.#patientId = patientId;
    this.#openAlerts = openAlerts;
    this.element = h(
      'section',
      { class: 'panel care', 'aria-labelledby': 'care-title', 'data-panel': 'care' },
      h('header', { class: 'panel-header' }, h('h2', { id: 'care-title', tabindex: '-1' }, 'Care plan, adherence and messages')),
      this.#body,
    );
  }

  get #base(): string {
    return `/api/patients/${encodeURIComponent(this.#patientId)}/care`;
  }

  async load(background = false): Promise<void> {
    try {
      const care = await api<PatientCare>('GET', `${this.#base}?days=${DAYS}`, undefined, { background });
      // A refresh while the clinician types would lose the text: keep the panel as it is then.
      if (background && this.#body.contains(document.activeElement) && document.activeElement?.matches('input, textarea, select')) return;
      clear(this.#body);
      this.#body.append(...this.#render(care));
    } catch {
      clear(this.#body);
      this.#body.append(h('p', { class: 'muted', role: 'status' }, 'The care plan could not be loaded.'));
    }
  }

  async #act(what: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
      announce(what);
      await this.load();
    } catch (err) {
      announce(failureText(err), 'error');
    }
  }

  #render(care: PatientCare): Node[] {
    const hub = care.hub ? `Hub ${care.hub.id}, ${care.hub.online ? 'online' : 'offline'}.` : 'No hub: reminders and messages need one (vigil devices add --kind hub).';
    return [
      h('p', {}, `${hub} Times are the patient's local times (${care.timeZone}).`),
      this.#plan(care),
      this.#medications(care),
      this.#education(care),
      this.#messages(care),
    ];
  }

  /** Education items: attached to the plan (sent with every reminder) or to an alert rule (with a message about one of its alerts). */
  #education(care: PatientCare): HTMLElement {
    const rows = care.education.map((e) => [
      e.attachTo === 'plan' ? 'the plan (every reminder)' : `alert rule ${e.attachTo}`,
      e.title,
      e.link ?? '–',
      h('button', { type: 'button', class: 'btn btn-small', onclick: () => void this.#act(`${e.title} removed`, () => api('DELETE', `${this.#base}/education/${encodeURIComponent(e.id)}`)) }, `Remove ${e.title}`),
    ]);
    const attachTo = h('input', { type: 'text', required: true, value: 'plan', maxlength: 80, autocomplete: 'off' });
    const title = h('input', { type: 'text', required: true, maxlength: 120, autocomplete: 'off' });
    const body = h('textarea', { rows: 2, maxlength: 1000, required: true });
    const link = h('input', { type: 'url', maxlength: 500, placeholder: 'https://', autocomplete: 'off' });
    return h(
      'div',
      { class: 'care-education', 'data-care': 'education' },
      h('h3', {}, 'Education for the patient'),
      rows.length ? table('Education items sent to the hub with reminders, or with a message about an alert of their rule', ['Attached to', 'Title', 'Link', 'Action'], rows) : h('p', { class: 'muted' }, 'No education items.'),
      h(
        'form',
        {
          class: 'care-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const item = { attachTo: attachTo.value.trim(), title: title.value, body: body.value, ...(link.value ? { link: link.value } : {}) };
            void this.#act(`${item.title} attached`, () => api('POST', `${this.#base}/education`, item));
          },
        },
        labelled('Attach to ("plan" or an alert rule id, e.g. bp.crisis)', attachTo),
        labelled('Title', title),
        labelled('Text', body),
        labelled('Link (https, optional)', link),
        h('button', { type: 'submit', class: 'btn btn-small' }, 'Add education item'),
      ),
    );
  }

  #plan(care: PatientCare): HTMLElement {
    const plan: CarePlan | null = care.plan;
    const figures = new Map(care.adherence.measurements.map((a) => [`${a.type}|${a.continuous}`, a]));
    const rows = (plan?.measurements ?? []).map((m) => {
      const a = figures.get(`${m.type}|${m.continuous}`);
      return [typeLabel(m.type), when(m), a ? `${a.arrived} of ${a.planned}` : '–', pct(a?.share ?? null)];
    });
    const template = h('select', {}, TEMPLATES.map((t) => h('option', { value: t }, t.replace('_', ' '))));
    const parts: Node[] = [
      h('h3', {}, 'Monitoring plan'),
      plan ? h('p', { class: 'muted' }, `From the ${plan.template.replace('_', ' ')} template; changed ${dateTime(plan.updatedAt)} by ${plan.updatedBy}.`) : h('p', {}, 'No plan yet: apply a programme template, then adjust the times.'),
      table(`Planned measurements and adherence over the last ${care.adherence.days} days`, ['Measurement', 'When', 'Arrived', 'Adherence'], rows),
    ];
    if (plan && plan.measurements.some((m) => !m.continuous)) {
      const inputs = plan.measurements.map((m) => (m.continuous ? undefined : h('input', { type: 'text', value: m.times.join(', '), inputmode: 'numeric', autocomplete: 'off' })));
      parts.push(
        h(
          'form',
          {
            class: 'care-form',
            onsubmit: (e: Event) => {
              e.preventDefault();
              const measurements = plan.measurements.map((m, i) => (inputs[i] ? { ...m, times: inputs[i]!.value.split(',').map((t) => t.trim()).filter(Boolean) } : m));
              void this.#act('Plan saved', () => api('PUT', `${this.#base}/plan`, { template: plan.template, measurements }));
            },
          },
          plan.measurements.map((m, i) => (inputs[i] ? labelled(`${typeLabel(m.type)}: times (HH:MM, comma-separated)`, inputs[i]!) : null)),
          h('button', { type: 'submit', class: 'btn btn-small' }, 'Save times'),
        ),
      );
    }
    parts.push(
      h(
        'form',
        { class: 'care-form', onsubmit: (e: Event) => (e.preventDefault(), void this.#act('Template applied', () => api('PUT', `${this.#base}/plan`, { template: template.value }))) },
        labelled('Programme template', template),
        h('button', { type: 'submit', class: 'btn btn-small' }, plan ? 'Replace with template' : 'Apply template'),
      ),
    );
    return h('div', { class: 'care-plan', 'data-care': 'plan' }, parts);
  }

  #medications(care: PatientCare): HTMLElement {
    const figures = new Map(care.adherence.medications.map((a) => [a.medicationId, a]));
    const rows = care.medications
      .filter((m) => m.stoppedAt === null || figures.get(m.id)?.taken || figures.get(m.id)?.missed)
      .map((m) => {
        const a = figures.get(m.id);
        const stop = m.stoppedAt === null ? h('button', { type: 'button', class: 'btn btn-small', onclick: () => void this.#act(`${m.name} stopped`, () => api('POST', `${this.#base}/medications/${encodeURIComponent(m.id)}/stop`)) }, `Stop ${m.name}`) : `stopped ${dateTime(m.stoppedAt)}`;
        return [`${m.name} ${m.dose}`, m.times.join(', '), String(a?.taken ?? 0), String(a?.skipped ?? 0), String(a?.missed ?? 0), pct(a?.share ?? null), stop];
      });
    const name = h('input', { type: 'text', required: true, maxlength: 120, autocomplete: 'off' });
    const dose = h('input', { type: 'text', required: true, maxlength: 120, autocomplete: 'off' });
    const times = h('input', { type: 'text', required: true, placeholder: '08:00, 20:00', autocomplete: 'off' });
    const kind = h('select', {}, MEDICATION_CLASSES.map((c) => h('option', { value: c, selected: c === 'other' }, c.replace('_', ' '))));
    return h(
      'div',
      { class: 'care-medications', 'data-care': 'medications' },
      h('h3', {}, 'Medications'),
      table(`Medication adherence over the last ${care.adherence.days} days (no answer by the end of the dose window is a missed dose)`, ['Medication', 'Times', 'Taken', 'Skipped', 'Missed', 'Adherence', 'Action'], rows),
      h(
        'form',
        {
          class: 'care-form',
          onsubmit: (e: Event) => {
            e.preventDefault();
            const body = { name: name.value, dose: dose.value, times: times.value.split(',').map((t) => t.trim()).filter(Boolean), class: kind.value };
            void this.#act(`${body.name} added`, () => api('POST', `${this.#base}/medications`, body));
          },
        },
        labelled('Medication', name),
        labelled('Dose', dose),
        labelled('Times (HH:MM, comma-separated)', times),
        labelled('Class (for adherence rules)', kind),
        h('button', { type: 'submit', class: 'btn btn-small' }, 'Add medication'),
      ),
    );
  }

  #messages(care: PatientCare): HTMLElement {
    const text = h('textarea', { rows: 2, maxlength: 2000, required: true });
    const measure = h('select', {}, h('option', { value: '' }, 'no'), MEASURE_TYPES.map((t) => h('option', { value: t }, typeLabel(t))));
    const alerts = this.#openAlerts();
    const about = h('select', {}, h('option', { value: '' }, 'no alert'), alerts.map((a) => h('option', { value: String(a.id) }, `#${a.id} ${a.title}`)));
    const thread = care.messages.map((m) =>
      h(
        'li',
        { class: `care-message care-${m.direction}` },
        h('p', {}, m.text),
        h('p', { class: 'muted' }, `${m.direction === 'to_patient' ? m.author : 'Patient'}, ${dateTime(m.at)}${m.alertId ? ` · about alert #${m.alertId}` : ''} · ${receipt(m)}`),
      ),
    );
    return h(
      'div',
      { class: 'care-messages', 'data-care': 'messages' },
      h('h3', {}, 'Messages with the patient'),
      thread.length ? h('ol', { class: 'care-thread', 'aria-label': 'Message thread, oldest first' }, thread) : h('p', { class: 'muted' }, 'No messages yet.'),
      care.hub
        ? h(
            'form',
            {
              class: 'care-form',
              onsubmit: (e: Event) => {
                e.preventDefault();
                const body = { text: text.value, ...(measure.value ? { measure: measure.value } : {}), ...(about.value ? { alertId: Number(about.value) } : {}) };
                void this.#act('Message sent', () => api('POST', `${this.#base}/messages`, body));
              },
            },
            labelled('Message to the patient', text),
            labelled('Ask to measure now', measure),
            alerts.length ? labelled('About an open alert', about) : null,
            h('button', { type: 'submit', class: 'btn btn-small' }, 'Send message'),
          )
        : null,
    );
  }
}
