import { api } from './api.js';
import { actionDialog, field, reasonField, valueOf } from './dialogs.js';
import { announce, h } from './dom.js';
import { clock } from './format.js';
import type { Alert } from './types.js';

/** Durations a snooze may be given, of which the dialog offers those within the server's limit. */
const SNOOZE_HOURS = [1, 2, 4, 8, 12, 24, 48, 72, 168];
let snoozeMaxHours = 24;

/** The server's VIGIL_ALERT_SNOOZE_MAX_HOURS, from the session. */
export function setSnoozeLimit(hours: number): void {
  snoozeMaxHours = hours;
}

function noteField(): HTMLElement {
  return field('Note (optional)', h('textarea', { name: 'note', rows: 3, maxlength: 2000, placeholder: 'e.g. Called patient, advised to repeat the measurement' }));
}

function noteBody(form: HTMLFormElement): { note?: string } {
  const note = valueOf(form, 'note');
  return note ? { note } : {};
}

function acknowledge(alert: Alert, onDone: () => void): Promise<void> {
  // A latched critical has nothing left to wait for: the server resolves it with the acknowledgement.
  const latched = alert.backInRangeAt !== null;
  return actionDialog({
    title: `Acknowledge: ${alert.title}`,
    intro: latched ? [`Back in range since ${clock(alert.clearSince ?? alert.backInRangeAt!)}: acknowledging also resolves this alert.`] : undefined,
    fields: [noteField()],
    submitLabel: 'Acknowledge',
    submit: (form) => api('POST', `/api/alerts/${alert.id}/acknowledge`, noteBody(form)),
  }).then((done) => {
    if (done) announce(latched ? 'Alert acknowledged and resolved' : 'Alert acknowledged');
    onDone();
  });
}

function resolve(alert: Alert, onDone: () => void): Promise<void> {
  return actionDialog({
    title: `Resolve: ${alert.title}`,
    fields: [noteField()],
    submitLabel: 'Resolve',
    submit: (form) => api('POST', `/api/alerts/${alert.id}/resolve`, noteBody(form)),
  }).then((done) => {
    if (done) announce('Alert resolved');
    onDone();
  });
}

function snooze(alert: Alert, onDone: () => void): Promise<void> {
  const offered = SNOOZE_HOURS.filter((n) => n <= snoozeMaxHours);
  const hours = h('select', { name: 'hours' }, (offered.length ? offered : [snoozeMaxHours]).map((n) => h('option', { value: n, selected: n === Math.min(4, snoozeMaxHours) }, `${n} hour${n > 1 ? 's' : ''}`)));
  return actionDialog({
    title: `Snooze “${alert.title}” for this patient`,
    intro: [`No new ${alert.severity} alert of this rule for this patient until the snooze ends. A worse finding, and any critical one, still alerts.`],
    fields: [field('For', hours, `At most ${snoozeMaxHours} hours.`), reasonField(true, 'Shown on the patient page and kept in the audit log.', 'e.g. Known post-operative drop, reviewed by Dr Grey')],
    submitLabel: 'Snooze',
    submit: (form) => {
      const until = new Date(Date.now() + Number(valueOf(form, 'hours')) * 3_600_000).toISOString();
      return api('PUT', `/api/patients/${encodeURIComponent(alert.patientId)}/snoozes/${encodeURIComponent(alert.ruleId)}`, { until, note: valueOf(form, 'reason') });
    },
  }).then((done) => {
    if (done) announce(`Rule snoozed for ${hours.value} h`);
    onDone();
  });
}

/**
 * The buttons under an alert: acknowledge, resolve, and snooze the rule for this patient. A critical alert is
 * not offered a snooze (it must be acknowledged; the server refuses to silence a critical limit in any case).
 */
export function alertActions(alert: Alert, onDone: () => void = () => undefined): HTMLElement {
  // Every alert has the same buttons: each says which alert it acts on, for a screen reader listing buttons.
  const button = (label: string, action: string, className: string, run: () => Promise<void>) =>
    h('button', { type: 'button', class: `btn btn-small ${className}`, 'data-action': action, onclick: () => void run() }, label, h('span', { class: 'sr-only' }, `: ${alert.title}`));
  return h(
    'div',
    { class: 'alert-actions' },
    alert.status === 'open' ? button('Acknowledge', 'acknowledge', 'btn-primary', () => acknowledge(alert, onDone)) : null,
    alert.status !== 'resolved' ? button('Resolve', 'resolve', '', () => resolve(alert, onDone)) : null,
    alert.status !== 'resolved' && alert.severity !== 'critical' ? button('Snooze', 'snooze', 'btn-quiet', () => snooze(alert, onDone)) : null,
  );
}
