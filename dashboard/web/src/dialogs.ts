import { ApiError } from './api.js';
import { h } from './dom.js';
import { focusKey, refocus } from './focus.js';

let fieldCount = 0;
let dialogCount = 0;

/**
 * A modal <dialog> named by its heading, shown, and removed when closed. The browser returns focus to the
 * control that opened it; if a live update rebuilt that control meanwhile (the alert acknowledged, by this
 * very action), focus goes to the same control rebuilt, or to the alert or panel it was in.
 */
function showModal(form: HTMLFormElement, title: string, closed: (dialog: HTMLDialogElement) => void): HTMLDialogElement {
  const titleId = `dialog-title-${++dialogCount}`;
  form.prepend(h('h2', { id: titleId }, title));
  // The consequence the intro states is read with the dialog's name, before the first field.
  const intro = form.querySelector('.dialog-intro');
  if (intro) intro.id = `${titleId}-intro`;
  const dialog = h('dialog', { 'aria-labelledby': titleId, 'aria-describedby': intro?.id }, form);
  const opener = document.activeElement;
  const key = opener && opener !== document.body ? focusKey(document.body, opener) : undefined;
  dialog.addEventListener('close', () => {
    dialog.remove();
    if (key && (!opener!.isConnected || document.activeElement === document.body)) refocus(document.body, key);
    closed(dialog);
  });
  document.body.append(dialog);
  dialog.showModal();
  return dialog;
}

/** A labelled control with an optional hint tied to it (aria-describedby), for the forms of dialogs and panels. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= `field-${++fieldCount}`;
  const hintEl = hint ? h('span', { class: 'field-hint', id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintEl);
}

/** A reason box. `required`: the browser refuses to submit it empty (or blank), and the label says so. */
export function reasonField(required: boolean, hint: string, placeholder = ''): HTMLElement {
  const box = h('textarea', { name: 'reason', rows: 2, maxlength: 2000, required, placeholder });
  return field(required ? 'Reason (required)' : 'Reason (optional)', box, hint);
}

/** The trimmed value of a named control of a form. */
export function valueOf(form: HTMLFormElement, name: string): string {
  return (form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement | null)?.value.trim() ?? '';
}

/** The message to show for a failed request: the server's own words (they name the rule, line or limit). */
export function failureText(err: unknown): string {
  return err instanceof ApiError ? err.message : 'The request failed; check the connection and try again.';
}

/**
 * A required text control holding only spaces is empty to a person: the browser's own check would let it
 * through, so it gets the same refusal (and the same focus) as an empty one.
 */
function blankRequired(form: HTMLFormElement): boolean {
  for (const el of form.querySelectorAll<HTMLInputElement | HTMLTextAreaElement>('textarea[required], input[required]')) {
    el.setCustomValidity(el.value.trim() === '' ? 'Please fill in this field.' : '');
  }
  return !form.reportValidity();
}

/**
 * Submits a form through `run`: checks it first (required, ranges, blank reasons), disables the button while
 * the request is out, and shows a refusal in `error` in the server's words (role="alert" announces it).
 */
export function onSubmit(form: HTMLFormElement, button: HTMLButtonElement, error: HTMLElement, run: () => Promise<unknown>, done: () => void): void {
  form.noValidate = true;
  form.addEventListener('input', (event) => (event.target as HTMLInputElement).setCustomValidity?.(''));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (blankRequired(form) || button.disabled) return;
    button.disabled = true;
    error.textContent = '';
    run().then(
      () => {
        button.disabled = false;
        done();
      },
      (err: unknown) => {
        error.textContent = failureText(err);
        button.disabled = false;
      },
    );
  });
}

export interface ActionDialog {
  readonly title: string;
  /** What the action does, before the fields (the consequence a clinician should know). */
  readonly intro?: (Node | string)[];
  readonly fields?: HTMLElement[];
  readonly submitLabel: string;
  /** Performs the request; a thrown error is shown in the dialog, which stays open. */
  readonly submit: (form: HTMLFormElement) => Promise<unknown>;
}

/**
 * A modal form in a native <dialog> (the browser traps focus and Escape cancels) that performs its request
 * itself: a refusal (a 422 safety floor, a snooze too long) is shown in the dialog in the server's words, so the
 * clinician corrects it or cancels knowing why. Resolves true once the request succeeded.
 */
export function actionDialog(o: ActionDialog): Promise<boolean> {
  return new Promise((resolve) => {
    const error = h('p', { class: 'form-error', role: 'alert' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, o.submitLabel);
    const form = h('form', { class: 'dialog-form' });
    let done = false;
    form.append(
      ...(o.intro ? [h('p', { class: 'dialog-intro' }, o.intro)] : []),
      ...(o.fields ?? []),
      error,
      h('div', { class: 'dialog-actions' }, h('button', { type: 'button', class: 'btn', onclick: () => dialog.close() }, 'Cancel'), submit),
    );
    const dialog = showModal(form, o.title, () => resolve(done));
    onSubmit(form, submit, error, () => o.submit(form), () => {
      done = true;
      dialog.close();
    });
  });
}

/** A modal form that only asks (the caller acts on the answer). */
export function askText(title: string, label: string, value: string, submitLabel: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = h('input', { name: 'value', value, autocomplete: 'off' });
    const form = h('form', { method: 'dialog', class: 'dialog-form' });
    const cancel = h('button', { type: 'button', class: 'btn' }, 'Cancel');
    form.append(field(label, input), h('div', { class: 'dialog-actions' }, cancel, h('button', { type: 'submit', class: 'btn btn-primary', value: 'ok' }, submitLabel)));
    const dialog = showModal(form, title, (d) => resolve(d.returnValue === 'ok' ? input.value : undefined));
    cancel.addEventListener('click', () => dialog.close('cancel'));
  });
}
