import { api } from './api.js';
import { actionDialog, field, valueOf } from './dialogs.js';
import { announce, h } from './dom.js';
import { ago, PROGRAMME_LABELS, readingDetail, readingFlags, readingMain, typeLabel } from './format.js';
import type { LatestReading, PatientRecord } from './types.js';

export const TYPE_ORDER = ['blood_pressure', 'glucose', 'weight', 'spo2', 'heart_rate', 'temperature', 'steps', 'fall'];

/** The time on the patient's clock, or undefined for a zone this browser does not know. */
function timeThere(timeZone: string): string | undefined {
  try {
    return new Date().toLocaleTimeString(undefined, { timeZone, hour: '2-digit', minute: '2-digit' });
  } catch {
    return undefined;
  }
}

/** Every IANA zone this browser knows, with the patient's own even if it does not. */
function zones(current: string): string[] {
  const all = Intl.supportedValuesOf('timeZone');
  return current && !all.includes(current) ? [...all, current].sort() : all;
}

function changeTimeZone(record: PatientRecord, changed: () => void): void {
  const current = record.patient.timeZone;
  const select = h('select', { name: 'timeZone', required: true }, zones(current).map((z) => h('option', { value: z, selected: z === current }, z.replaceAll('_', ' '))));
  void actionDialog({
    title: `Time zone of ${record.patient.name}`,
    intro: ["Trend rules count the patient's days in this zone: home blood pressure sessions, morning weights, daily activity."],
    fields: [field('Time zone', select, 'Where the patient lives (IANA name, e.g. Europe/London).')],
    submitLabel: 'Save',
    submit: (form) => api('PUT', `/api/patients/${encodeURIComponent(record.patient.id)}/time-zone`, { timeZone: valueOf(form, 'timeZone') }),
  }).then((done) => {
    if (!done) return;
    announce(`Time zone set to ${select.value}`);
    changed();
  });
}

/** The latest reading of a type: its value, then what else the device measured or flagged, then its age. */
function latestTile(l: LatestReading): HTMLElement {
  const detail = readingDetail(l);
  const extras: (Node | string)[] = [...(detail ? [detail] : []), ...readingFlags(l).map((f) => h('span', { class: 'flag' }, f))];
  return h(
    'div',
    { class: 'latest', 'data-type': l.type },
    h('span', { class: 'latest-label' }, typeLabel(l.type)),
    h('strong', {}, readingMain(l)),
    extras.length ? h('span', { class: 'latest-detail' }, extras.flatMap((x, i) => (i ? [' · ', x] : [x]))) : null,
    h('span', { class: 'muted' }, ago(l.time)),
  );
}

/** Name, programmes, care team and time zone (with a way to change it), and the latest reading of each type. */
export function patientHeader(record: PatientRecord, changed: () => void): HTMLElement {
  const p = record.patient;
  const there = p.timeZone ? timeThere(p.timeZone) : undefined;
  return h(
    'header',
    { class: 'patient-header panel' },
    h('a', { href: '#/', class: 'back no-print' }, '← Worklist'),
    h(
      'div',
      {},
      // The view's one h1 (WCAG 1.3.1, 2.4.6): the shell moves focus here when the page opens.
      h('h1', { tabindex: '-1', 'data-focus': 'title' }, p.name),
      h('p', { class: 'muted' }, [`ID ${p.id}`, p.programmes.map((x) => PROGRAMME_LABELS[x] ?? x).join(', ') || 'No programme', p.careTeam ? `Care team ${p.careTeam}` : 'No care team'].join(' · ')),
      h(
        'p',
        { class: 'muted time-zone' },
        p.timeZone ? `Time zone ${p.timeZone}${there ? ` (${there} there)` : ''} ` : 'Time zone not set ',
        h('button', { type: 'button', class: 'btn btn-small btn-quiet no-print', 'data-action': 'time-zone', onclick: () => changeTimeZone(record, changed) }, 'Change time zone'),
      ),
    ),
    h(
      'div',
      { class: 'latest-strip' },
      [...record.latest].sort((a, b) => TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type)).map(latestTile),
    ),
  );
}
