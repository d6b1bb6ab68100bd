import { alertActions } from './alert-actions.js';
import { alertNotes, renotifyText } from './alert-notes.js';
import { say } from './announcer.js';
import { ago, alertDetail, dateTime } from './format.js';
import { clear, h } from './dom.js';
import { focusKey, refocus } from './focus.js';
import { setCriticalCount } from './page-title.js';
import type { Alert, LiveMessage } from './types.js';

const RANK = { critical: 0, warning: 1, info: 2 } as const;
/** The feed shows the most urgent alerts; a programme's hundreds of warnings belong to the worklist. */
const MAX_SHOWN = 150;

interface FeedAlert extends Alert {
  patientName: string;
  /** Arrived live in this page (highlighted for a while). */
  fresh: boolean;
}

/** A short two-tone beep for a new critical alert (WebAudio; browsers allow it after the first click). */
function chime(): void {
  try {
    const audio = new AudioContext();
    for (const [i, freq] of [880, 660].entries()) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.15, audio.currentTime + i * 0.18);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + i * 0.18 + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(audio.currentTime + i * 0.18);
      osc.stop(audio.currentTime + i * 0.18 + 0.17);
    }
    setTimeout(() => void audio.close(), 1000);
  } catch {
    // No audio device: the visual cue remains.
  }
}

/** What a transition says to a screen reader, or nothing: updates (a repeat, a change of band) and acknowledgements are not news. */
function news(message: Extract<LiveMessage, { alert: Alert }>, name: string): string | undefined {
  const a = message.alert;
  switch (message.type) {
    case 'alert.opened':
      return a.severity === 'critical' ? `Critical alert for ${name}: ${a.title}` : `New ${a.severity} alert for ${name}: ${a.title}`;
    case 'alert.renotified':
      return `${a.severity === 'critical' ? 'Critical alert' : 'Alert'} for ${name} notified again: ${a.title}. ${renotifyText(a)}`;
    case 'alert.escalated':
      return `Escalated, not yet acknowledged: ${a.title} for ${name}`;
    case 'alert.resolved':
      return `Resolved: ${a.title} for ${name}`;
    default:
      return undefined;
  }
}

/**
 * The live alert feed: every open or acknowledged alert the user may see, most severe and newest first; alert
 * events from the live channel update it in place; a new critical alert flashes, chimes and is announced.
 * The list is not a live region (an item rebuilt for a new count would be read again): what is new is said
 * once through the announcer.
 */
export class AlertFeed {
  readonly element: HTMLElement;
  readonly #list: HTMLElement;
  readonly #count: HTMLElement;
  readonly #alerts = new Map<number, FeedAlert>();
  readonly #rendered = new Map<number, { el: HTMLElement; version: string }>();
  readonly #names: (patientId: string) => string | undefined;
  #sound = true;
  #renderQueued = false;

  constructor(names: (patientId: string) => string | undefined) {
    this.#names = names;
    // Read as part of the heading: "Live alerts 3".
    this.#count = h('span', { class: 'count-badge' }, '0');
    const soundToggle = h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'aria-pressed': 'true', title: 'Sound for critical alerts' }, 'Sound on');
    soundToggle.addEventListener('click', () => {
      this.#sound = !this.#sound;
      soundToggle.setAttribute('aria-pressed', String(this.#sound));
      soundToggle.textContent = this.#sound ? 'Sound on' : 'Sound off';
    });
    this.#list = h('ol', { class: 'feed-list', 'aria-labelledby': 'feed-title' });
    // Kept elements keep their text: the ages ("4 min ago") are brought up to date here.
    window.setInterval(() => {
      for (const t of this.#list.querySelectorAll<HTMLTimeElement>('.feed-item-head time[datetime]')) t.textContent = ago(Date.parse(t.dateTime));
    }, 30_000);
    this.element = h(
      'section',
      { class: 'panel feed', 'aria-labelledby': 'feed-title', 'data-panel': 'feed' },
      h('header', { class: 'panel-header' }, h('h2', { id: 'feed-title', tabindex: '-1' }, 'Live alerts ', this.#count), soundToggle),
      this.#list,
    );
  }

  load(alerts: Alert[]): void {
    this.#alerts.clear();
    for (const a of alerts) if (a.status !== 'resolved') this.#alerts.set(a.id, { ...a, patientName: this.#names(a.patientId) ?? a.patientId, fresh: false });
    this.#queueRender();
  }

  apply(message: Extract<LiveMessage, { alert: Alert }>): void {
    const { alert } = message;
    const name = message.patientName ?? this.#names(alert.patientId) ?? alert.patientId;
    const text = news(message, name);
    const critical = alert.severity === 'critical' && alert.status === 'open' && message.type !== 'alert.resolved';
    // Keyed by sequence number: a transition replayed after a reconnect is not said twice.
    if (text) say(text, critical ? 'assertive' : 'polite', `seq:${message.seq}`);
    if (message.type === 'alert.resolved' || alert.status === 'resolved') {
      this.#alerts.delete(alert.id);
    } else {
      const known = this.#alerts.has(alert.id);
      // A re-notification (a new fall, a worse tier or value, a reminder) asks for a person again, like a new alert.
      const again = message.type === 'alert.renotified';
      this.#alerts.set(alert.id, { ...alert, patientName: name, fresh: message.type !== 'alert.acknowledged' });
      if ((!known || again || message.type === 'alert.escalated') && critical) this.#cue();
    }
    this.#queueRender();
  }

  /** Seen and heard: the top bar flashes and the chime plays (the words go through the announcer). */
  #cue(): void {
    if (this.#sound) chime();
    document.body.classList.add('flash-critical');
    setTimeout(() => document.body.classList.remove('flash-critical'), 2_400);
  }

  #queueRender(): void {
    if (this.#renderQueued) return;
    this.#renderQueued = true;
    requestAnimationFrame(() => {
      this.#renderQueued = false;
      this.render();
    });
  }

  render(): void {
    const alerts = [...this.#alerts.values()].sort(
      (a, b) => RANK[a.severity] - RANK[b.severity] || Number(b.status === 'open') - Number(a.status === 'open') || b.updatedAt - a.updatedAt,
    );
    this.#count.textContent = String(alerts.length);
    setCriticalCount(alerts.filter((a) => a.severity === 'critical' && a.status === 'open').length);
    // An alert acted on is rebuilt (acknowledged) or goes (resolved): focus stays with it, or moves to the
    // alert that took its place, never to <body>.
    const active = document.activeElement;
    const focused = active && this.#list.contains(active) ? { key: focusKey(this.#list, active), index: [...this.#list.children].findIndex((li) => li.contains(active)) } : undefined;
    this.#update(alerts);
    if (focused && !this.#list.contains(document.activeElement)) {
      if (!(focused.key && refocus(this.#list, focused.key))) {
        const items = this.#list.querySelectorAll<HTMLElement>(':scope > .feed-item');
        (items[Math.min(focused.index, items.length - 1)] ?? this.element.querySelector<HTMLElement>('#feed-title'))?.focus({ preventScroll: true });
      }
    }
  }

  #update(alerts: FeedAlert[]): void {
    if (alerts.length === 0) {
      this.#rendered.clear();
      clear(this.#list);
      this.#list.append(h('li', { class: 'empty' }, 'No open alerts. New ones appear here as they happen.'));
      return;
    }
    // Keyed update: an unchanged alert keeps its element (and its focus), so a busy ward does not rebuild the
    // whole feed on every event. Beyond MAX_SHOWN the worklist carries the rest.
    const shown = alerts.slice(0, MAX_SHOWN);
    const keep = new Set(shown.map((a) => a.id));
    for (const [id, entry] of this.#rendered) if (!keep.has(id)) (entry.el.remove(), this.#rendered.delete(id));
    this.#list.querySelector(':scope > .empty, :scope > .more')?.remove();
    let previous: Element | null = null;
    for (const a of shown) {
      const version = `${a.updatedAt}|${a.status}|${a.severity}|${a.count}|${a.escalationLevel}|${a.patientName}|${a.clearSince}|${a.backInRangeAt}|${a.renotifyCount}|${a.late}`;
      let entry = this.#rendered.get(a.id);
      if (!entry || entry.version !== version) {
        const el = this.#item(a);
        if (entry) entry.el.replaceWith(el);
        entry = { el, version };
        this.#rendered.set(a.id, entry);
      }
      const expectedPosition: Element | null = previous ? previous.nextElementSibling : this.#list.firstElementChild;
      if (expectedPosition !== entry.el) (previous ? previous.after(entry.el) : this.#list.prepend(entry.el));
      previous = entry.el;
    }
    if (alerts.length > MAX_SHOWN) this.#list.append(h('li', { class: 'empty more' }, `${alerts.length - MAX_SHOWN} more live alerts: see the worklist.`));
  }

  #item(a: FeedAlert): HTMLElement {
    const item = h(
      'li',
      { class: `feed-item sev-${a.severity} status-${a.status}${a.fresh ? ' fresh' : ''}`, 'data-alert-id': a.id, tabindex: '-1' },
      h(
        'div',
        { class: 'feed-item-head' },
        h('span', { class: `sev-badge sev-${a.severity}` }, a.severity),
        h('a', { href: `#/patients/${encodeURIComponent(a.patientId)}`, class: 'feed-patient', 'data-action': 'open-patient' }, a.patientName),
        h('time', { datetime: new Date(a.updatedAt).toISOString(), title: dateTime(a.updatedAt) }, ago(a.updatedAt)),
      ),
      h('div', { class: 'feed-title' }, a.title, a.count > 1 ? h('span', { class: 'muted' }, ` ×${a.count}`) : null, a.escalationLevel > 0 ? h('span', { class: 'tag tag-escalated' }, 'escalated') : null),
      alertDetail(a) ? h('div', { class: 'feed-message' }, alertDetail(a)) : null,
      alertNotes(a),
      alertActions(a),
    );
    if (a.fresh) setTimeout(() => item.classList.remove('fresh'), 4_000);
    a.fresh = false;
    return item;
  }
}
