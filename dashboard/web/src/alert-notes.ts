import { h } from './dom.js';
import { actorText, clock, dateTime, valuesText } from './format.js';
import type { Alert, RenotifyReason } from './types.js';

function reasonText(a: Alert, reason: RenotifyReason): string {
  switch (reason) {
    case 'event':
      return a.ruleId === 'fall.detected' ? 'New fall' : 'New event';
    case 'worse_tier':
      return `Worse: now ${a.severity}, ${valuesText(a.ruleId, a.latestValues)}`;
    case 'worse_value':
      return `Worse: ${valuesText(a.ruleId, a.worstValues)}`;
    case 'recurred':
      return 'Abnormal again after being back in range';
    case 'current':
      return 'Confirmed by a reading taken now (it came from late data)';
    case 'reminder':
      return 'Still abnormal after acknowledgement';
  }
}

/** Why an alert last notified again, in words ("Worse: 74/48 mmHg"), or the count alone when the page does not know why. */
export function renotifyText(a: Alert): string {
  return a.lastRenotifyReason ? reasonText(a, a.lastRenotifyReason) : `Notified again ${times(a.renotifyCount)}`;
}

function times(n: number): string {
  return n === 1 ? 'once' : n === 2 ? 'twice' : `${n} times`;
}

/**
 * The lines under an alert that say where it stands, in words: back in range (and, for a latched critical,
 * waiting for a person), why and how often it notified again, and whether it came from late data.
 */
export function alertNotes(a: Alert): HTMLElement | null {
  const lines: HTMLElement[] = [];
  if (a.status !== 'resolved' && a.backInRangeAt !== null) {
    lines.push(h('li', { class: 'note-latched' }, `Back in range since ${clock(a.clearSince ?? a.backInRangeAt)} · waiting for acknowledgement`));
  } else if (a.status !== 'resolved' && a.clearSince !== null) {
    lines.push(h('li', { class: 'note-clearing' }, `Back in range since ${clock(a.clearSince)}`));
  }
  if (a.renotifyCount > 0) {
    const reason = a.lastRenotifyReason;
    const count = `notified again ${times(a.renotifyCount)}, last ${clock(a.notifiedAt)}`;
    lines.push(h('li', { class: 'note-renotified' }, reason ? `${reasonText(a, reason)} · ${count}` : `N${count.slice(1)}`));
  }
  if (a.late) lines.push(h('li', { class: 'note-late' }, `From late data (measured ${dateTime(a.lastObservedAt)}): recorded, not paged`));
  if (a.status === 'acknowledged') {
    lines.push(h('li', { class: 'feed-ack' }, `Acknowledged by ${actorText(a.acknowledgedBy)}${a.acknowledgeNote ? `: “${a.acknowledgeNote}”` : ''}`));
  }
  return lines.length ? h('ul', { class: 'alert-notes' }, lines) : null;
}
