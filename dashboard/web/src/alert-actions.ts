import { api, ApiError } from './api.js';
import { askNote, askSnooze } from './dialogs.js';
import { announce, h } from './dom.js';
import type { Alert } from './types.js';

async function run(what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
    announce(what);
  } catch (err) {
    announce(err instanceof ApiError ? err.message : 'The request failed; try again.', 'error');
  }
}

/** The buttons under an alert: acknowledge (with a note), resolve, snooze the rule for this patient. */
export function alertActions(alert: Alert, onDone: () => void = () => undefined): HTMLElement {
  const acknowledge = async () => {
    const answer = await askNote(`Acknowledge: ${alert.title}`, 'Acknowledge');
    if (answer) await run('Alert acknowledged', () => api('POST', `/api/alerts/${alert.id}/acknowledge`, answer.note ? { note: answer.note } : {}));
    onDone();
  };
  const resolve = async () => {
    const answer = await askNote(`Resolve: ${alert.title}`, 'Resolve');
    if (answer) await run('Alert resolved', () => api('POST', `/api/alerts/${alert.id}/resolve`, answer.note ? { note: answer.note } : {}));
    onDone();
  };
  const snooze = async () => {
    const answer = await askSnooze(alert.title);
    if (!answer) return;
    const until = new Date(Date.now() + answer.hours * 3_600_000).toISOString();
    await run(`Rule snoozed for ${answer.hours} h`, () =>
      api('PUT', `/api/patients/${encodeURIComponent(alert.patientId)}/snoozes/${encodeURIComponent(alert.ruleId)}`, { until, ...(answer.note ? { note: answer.note } : {}) }),
    );
    onDone();
  };
  return h(
    'div',
    { class: 'alert-actions' },
    alert.status === 'open' ? h('button', { type: 'button', class: 'btn btn-small btn-primary', onclick: acknowledge, 'data-action': 'acknowledge' }, 'Acknowledge') : null,
    alert.status !== 'resolved' ? h('button', { type: 'button', class: 'btn btn-small', onclick: resolve, 'data-action': 'resolve' }, 'Resolve') : null,
    alert.status !== 'resolved' ? h('button', { type: 'button', class: 'btn btn-small btn-quiet', onclick: snooze, 'data-action': 'snooze' }, 'Snooze') : null,
  );
}
