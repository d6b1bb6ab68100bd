/**
 * What a screen reader hears unasked: only what is new (an alert opened, notified again, escalated, resolved;
 * the result of a filter), once. Two regions made at start-up (a region must exist before its text changes to
 * be read): a polite one, and an assertive one for critical alerts. Messages arriving together are read as one,
 * so that a burst of events is not cut short by the next.
 */
const spoken = new Set<string>();
const queued: Record<'polite' | 'assertive', string[]> = { polite: [], assertive: [] };
let timer: number | undefined;

const REGION_IDS = { polite: 'announcer', assertive: 'critical-announcer' } as const;

function flush(): void {
  timer = undefined;
  for (const urgency of ['assertive', 'polite'] as const) {
    const messages = queued[urgency].splice(0);
    const region = document.getElementById(REGION_IDS[urgency]);
    if (!messages.length || !region) continue;
    // Emptied first: the same words later (another patient's identical alert) are a change, and are read.
    region.textContent = '';
    const text = messages.join(' ');
    window.setTimeout(() => (region.textContent = text), 50);
  }
}

/**
 * Says `text` once for `key` (an alert transition's sequence number, say): a transition replayed after a
 * reconnect, or applied twice, is not read twice.
 */
export function say(text: string, urgency: 'polite' | 'assertive' = 'polite', key: string = text): void {
  if (spoken.has(key)) return;
  spoken.add(key);
  // A day of a busy ward is a few thousand transitions: the oldest keys go (a replay is of recent ones).
  if (spoken.size > 5_000) spoken.delete(spoken.values().next().value!);
  queued[urgency].push(text);
  timer ??= window.setTimeout(flush, 150);
}

/** Says `text` now even if said before: the answer to something the user just did (their filter's result). */
export function reply(text: string): void {
  queued.polite.push(text);
  timer ??= window.setTimeout(flush, 150);
}
