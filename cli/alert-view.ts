import type { Alert, AlertEvent } from '../alerts/index.js';
import { isoOrDash } from './run.js';

function values(v: Record<string, number>): string {
  const entries = Object.entries(v);
  return entries.length ? entries.map(([field, value]) => `${field} ${value}`).join(', ') : '-';
}

/** `vigil alerts show`: one alert as a person reads it (--json keeps every field for machines). */
export function alertText({ alert: a, events }: { alert: Alert; events: readonly AlertEvent[] }): string {
  const lines: [string, string][] = [
    ['status', a.status + (a.escalationLevel > 0 ? ` (escalated ${a.escalationLevel})` : '') + (a.late ? ' (late readings)' : '')],
    ['patient', a.patientId],
    ['rule', a.ruleId + (a.subject ? ` (${a.subject})` : '')],
    ['message', a.message],
    ['findings', `${a.count} (first observed ${isoOrDash(a.firstObservedAt)}, last ${isoOrDash(a.lastObservedAt)})`],
    ['latest values', values(a.latestValues)],
    ['worst values', values(a.worstValues)],
    ['opened', isoOrDash(a.openedAt)],
    ['notified', `${isoOrDash(a.notifiedAt)}${a.renotifyCount ? ` (again ${a.renotifyCount} times${a.lastRenotifyReason ? `, last: ${a.lastRenotifyReason}` : ''})` : ''}`],
  ];
  if (a.clearSince) lines.push(['back in range since', isoOrDash(a.clearSince)]);
  if (a.backInRangeAt) lines.push(['waits for a person since', isoOrDash(a.backInRangeAt)]);
  if (a.acknowledgedAt) lines.push(['acknowledged', `${isoOrDash(a.acknowledgedAt)} by ${a.acknowledgedBy ?? '-'}${a.acknowledgeNote ? `: ${a.acknowledgeNote}` : ''}`]);
  if (a.resolvedAt) lines.push(['resolved', `${isoOrDash(a.resolvedAt)} by ${a.resolvedBy ?? '-'}${a.resolveNote ? `: ${a.resolveNote}` : ''}`]);
  const width = Math.max(...lines.map(([k]) => k.length));
  const history = events.map((e) => `  ${isoOrDash(e.at)}  ${e.type.replace('alert.', '').padEnd(13)} ${e.alert.severity.padEnd(8)} ${e.actor ?? ''}${e.change ? ` (${typeof e.change === 'string' ? e.change : JSON.stringify(e.change)})` : ''}`.trimEnd());
  return [
    `alert ${a.id}: ${a.severity.toUpperCase()} ${a.title}`,
    ...lines.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
    '',
    `history (${events.length}):`,
    ...history,
    '',
  ].join('\n');
}
