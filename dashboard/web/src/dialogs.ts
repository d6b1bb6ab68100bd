import { h } from './dom.js';

/** A modal form in a native <dialog> (focus is trapped and Escape cancels, by the browser). */
function modal<T>(title: string, body: HTMLElement[], submitLabel: string, read: (form: HTMLFormElement) => T): Promise<T | undefined> {
  return new Promise((resolve) => {
    const form = h('form', { method: 'dialog', class: 'dialog-form' });
    const dialog = h('dialog', { 'aria-label': title }, form);
    form.append(
      h('h2', {}, title),
      ...body,
      h(
        'div',
        { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => dialog.close('cancel') }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-primary', value: 'ok' }, submitLabel),
      ),
    );
    dialog.addEventListener('close', () => {
      const result = dialog.returnValue === 'ok' ? read(form) : undefined;
      dialog.remove();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

export function askNote(title: string, submitLabel: string): Promise<{ note: string } | undefined> {
  const id = `note-${Date.now()}`;
  return modal(
    title,
    [h('label', { for: id }, 'Note (optional)'), h('textarea', { id, name: 'note', rows: 3, maxlength: 2000, placeholder: 'e.g. Called patient, advised to repeat the measurement' })],
    submitLabel,
    (form) => ({ note: (form.elements.namedItem('note') as HTMLTextAreaElement).value.trim() }),
  );
}

export function askSnooze(ruleTitle: string): Promise<{ hours: number; note: string } | undefined> {
  const options = [1, 4, 8, 24, 72].map((hrs) => h('option', { value: hrs, selected: hrs === 4 }, hrs < 24 ? `${hrs} hour${hrs > 1 ? 's' : ''}` : `${hrs / 24} day${hrs > 24 ? 's' : ''}`));
  return modal(
    `Snooze “${ruleTitle}” for this patient`,
    [
      h('label', { for: 'snooze-hours' }, 'For'),
      h('select', { id: 'snooze-hours', name: 'hours' }, options),
      h('label', { for: 'snooze-note' }, 'Reason (optional)'),
      h('textarea', { id: 'snooze-note', name: 'note', rows: 2, maxlength: 2000 }),
    ],
    'Snooze',
    (form) => ({
      hours: Number((form.elements.namedItem('hours') as HTMLSelectElement).value),
      note: (form.elements.namedItem('note') as HTMLTextAreaElement).value.trim(),
    }),
  );
}

export function askText(title: string, label: string, value: string, submitLabel: string): Promise<string | undefined> {
  const id = `text-${Date.now()}`;
  return modal(title, [h('label', { for: id }, label), h('input', { id, name: 'value', value, autocomplete: 'off' })], submitLabel, (form) =>
    (form.elements.namedItem('value') as HTMLInputElement).value,
  );
}
