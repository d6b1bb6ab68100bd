import { api } from './api.js';
import { actionDialog, failureText, field, valueOf } from './dialogs.js';
import { announce, h } from './dom.js';

interface PatientExport {
  readonly manifest: unknown;
  readonly files: readonly { readonly path: string; readonly text: string }[];
}

/** Saves the export as one file: the browser's own download of a JSON document built in memory. */
function download(name: string, data: PatientExport): void {
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' }));
  const link = h('a', { href: url, download: name, class: 'sr-only' });
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * Administrators only: the patient's right of access (export everything held about them) and right to erasure.
 * The erasure asks for the patient id to be typed, since it cannot be undone. Both are audited by the server.
 */
export function patientDataPanel(patientId: string, name: string): HTMLElement {
  const exportButton = h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'export-data' }, 'Export data');
  exportButton.addEventListener('click', () => {
    exportButton.disabled = true;
    api<PatientExport>('GET', `/api/admin/patients/${encodeURIComponent(patientId)}/export`).then(
      (data) => {
        download(`patient-${patientId}-export.json`, data);
        announce(`Exported ${data.files.length} files for ${name}.`);
      },
      (err: unknown) => announce(failureText(err), 'error'),
    ).finally(() => (exportButton.disabled = false));
  });
  const eraseButton = h('button', { type: 'button', class: 'btn btn-small btn-danger', 'data-action': 'erase-patient' }, 'Erase patient…');
  eraseButton.addEventListener('click', () => {
    const confirm = h('input', { name: 'confirm', required: true, autocomplete: 'off', spellcheck: 'false' });
    void actionDialog({
      title: `Erase ${name}?`,
      intro: [
        'This deletes the registry entry, alerts with their notes, rule changes and every reading, and unassigns the devices. It cannot be undone: export the data first if it must be kept. The audit log keeps a record of the erasure without the patient id.',
      ],
      fields: [field(`Type the patient id (${patientId}) to confirm`, confirm)],
      submitLabel: 'Erase patient',
      submit: (form) => api('POST', `/api/admin/patients/${encodeURIComponent(patientId)}/erase`, { confirm: valueOf(form, 'confirm') }),
    }).then((erased) => {
      if (!erased) return;
      announce(`${name} was erased.`);
      location.hash = '#/';
    });
  });
  return h(
    'section',
    { class: 'panel no-print', 'aria-labelledby': 'data-title', 'data-panel': 'patient-data' },
    h('header', { class: 'panel-header' }, h('h2', { id: 'data-title' }, "Patient's data")),
    h('p', { class: 'muted pad' }, 'Export everything held about this patient, or erase it (administrators).'),
    h('div', { class: 'pad' }, exportButton, ' ', eraseButton),
  );
}
