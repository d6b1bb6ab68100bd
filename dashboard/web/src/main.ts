import { setSnoozeLimit } from './alert-actions.js';
import { api, setSession, whenUnauthorized } from './api.js';
import { AuditView } from './audit-view.js';
import { clear, h } from './dom.js';
import { AlertFeed } from './feed.js';
import { LiveChannel, type LiveState } from './live.js';
import { loginView } from './login-view.js';
import { setCriticalCount, setViewTitle } from './page-title.js';
import { PatientView } from './patient-view.js';
import { ProgrammeView } from './programme-view.js';
import { UsersView } from './users-view.js';
import type { Alert, LiveMessage, SessionInfo } from './types.js';
import { WorklistView } from './worklist-view.js';

const root = document.getElementById('app')!;

const STATE_TEXT: Record<LiveState, string> = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…', ended: 'Logged off' };

/** The logged-in application: top bar, worklist with the live alert feed, patient pages, the audit log. */
class Shell {
  readonly #session: SessionInfo;
  readonly #worklist = new WorklistView();
  readonly #feed = new AlertFeed((id) => this.#worklist.nameOf(id));
  readonly #main = h('main', { id: 'main', tabindex: '-1' });
  readonly #status = h('span', { class: 'live-pill state-connecting', role: 'status', 'aria-live': 'polite' }, STATE_TEXT.connecting);
  #live: LiveChannel | undefined;
  #patient: PatientView | undefined;
  #audit: AuditView | undefined;
  #users: UsersView | undefined;
  #active = false;
  /** Move focus to the new view's heading: after a navigation or logging in, not when the page first loads. */
  #focusView: boolean;
  readonly #keepAlive: number;
  readonly #onHash = () => {
    // Only "#/..." is a route: any other fragment (an in-page link) must not navigate away from the view.
    if (location.hash && !location.hash.startsWith('#/')) return;
    this.#focusView = true;
    this.#route();
  };
  readonly #onActivity = () => (this.#active = true);

  constructor(session: SessionInfo, focusView: boolean) {
    this.#session = session;
    this.#focusView = focusView;
    setSnoozeLimit(session.snoozeMaxHours);
    const { user } = session;
    const nav = h(
      'nav',
      { 'aria-label': 'Main' },
      h('a', { href: '#/', class: 'nav-link', 'data-nav': 'worklist' }, 'Worklist'),
      h('a', { href: '#/programme', class: 'nav-link', 'data-nav': 'programme' }, 'Programme'),
      user.role === 'admin' ? h('a', { href: '#/users', class: 'nav-link', 'data-nav': 'users' }, 'Users') : null,
      user.role === 'admin' ? h('a', { href: '#/audit', class: 'nav-link', 'data-nav': 'audit' }, 'Audit log') : null,
      h('a', { href: '/api/docs', class: 'nav-link', target: '_blank', rel: 'noopener' }, 'API'),
    );
    clear(root);
    root.append(
      // WCAG 2.4.1: moves focus past the top bar itself. Followed as a link, "#main" would be a route change.
      h('a', { href: '#main', class: 'skip-link', onclick: (e: Event) => (e.preventDefault(), this.#main.focus()) }, 'Skip to content'),
      h(
        'header',
        { class: 'topbar' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Vigil'),
        nav,
        h('div', { class: 'topbar-right' }, this.#status, h('span', { class: 'user' }, h('strong', {}, user.displayName), h('span', { class: 'muted' }, ` · ${user.role}${user.careTeams.length ? ` · ${user.careTeams.join(', ')}` : ''}`)), h('button', { type: 'button', class: 'btn btn-small', onclick: () => void this.logout() }, 'Log out')),
      ),
      this.#main,
      h('div', { id: 'announcer', class: 'sr-only', role: 'status', 'aria-live': 'polite' }),
      h('div', { id: 'critical-announcer', class: 'sr-only', role: 'alert', 'aria-live': 'assertive' }),
    );
    window.addEventListener('hashchange', this.#onHash);
    for (const type of ['keydown', 'pointerdown', 'wheel']) window.addEventListener(type, this.#onActivity, { passive: true });
    // Sliding expiry follows the person, not the screen: only real input keeps the session alive.
    this.#keepAlive = window.setInterval(() => {
      if (!this.#active) return;
      this.#active = false;
      void api('GET', '/api/session').catch(() => undefined);
    }, 60_000);
  }

  async start(): Promise<void> {
    // In this order: the feed's snapshot is at least as new as the worklist's sequence number, and the live
    // channel replays from that number, so nothing falls between (a transition seen twice is applied twice, harmlessly).
    await this.#worklist.load(false);
    const alerts = await api<{ alerts: Alert[] }>('GET', '/api/alerts?status=live&limit=500');
    this.#feed.load(alerts.alerts);
    this.#live = new LiveChannel(this.#worklist.lastSeq, {
      onMessage: (m) => this.#onLive(m),
      onState: (state) => {
        this.#status.className = `live-pill state-${state}`;
        // Written only when it changes: a status region reads every write.
        if (this.#status.textContent !== STATE_TEXT[state]) this.#status.textContent = STATE_TEXT[state];
        // A refused reconnect may mean the session ended: asking tells (a 401 shows the login page).
        if (state === 'reconnecting') void api('GET', '/api/session', undefined, { background: true }).catch(() => undefined);
      },
      onResynced: () => {
        void this.#worklist.load(true);
        void api<{ alerts: Alert[] }>('GET', '/api/alerts?status=live&limit=500', undefined, { background: true }).then((a) => this.#feed.load(a.alerts));
        this.#patient?.changed();
      },
      onSessionEnded: () => this.end('You were logged off after a period of inactivity. Log in again to continue.'),
    });
    this.#route();
  }

  #onLive(message: LiveMessage): void {
    if (message.type === 'readings') {
      this.#worklist.markStale();
      if (this.#patient && message.readings.some((r) => r.patientId === this.#patient!.patientId)) this.#patient.changed();
      return;
    }
    if ('alert' in message) {
      this.#feed.apply(message);
      this.#worklist.markStale();
      if (this.#patient?.patientId === message.alert.patientId) this.#patient.changed();
    }
  }

  #route(): void {
    const hash = location.hash || '#/';
    this.#patient?.stop();
    this.#patient = undefined;
    clear(this.#main);
    for (const link of document.querySelectorAll('[data-nav]')) link.removeAttribute('aria-current');
    const patient = /^#\/patients\/([^/]+)$/.exec(hash);
    if (patient) {
      setViewTitle('Patient');
      this.#patient = new PatientView(decodeURIComponent(patient[1]!), this.#session.user.role === 'admin');
      this.#main.append(this.#patient.element);
      void this.#patient.load();
    } else if (hash === '#/programme') {
      setViewTitle('Programme report');
      document.querySelector('[data-nav="programme"]')?.setAttribute('aria-current', 'page');
      const view = new ProgrammeView();
      this.#main.append(view.element);
      void view.load();
    } else if (hash === '#/audit' && this.#session.user.role === 'admin') {
      setViewTitle('Audit log');
      document.querySelector('[data-nav="audit"]')?.setAttribute('aria-current', 'page');
      this.#audit ??= new AuditView();
      this.#main.append(this.#audit.element);
      void this.#audit.load();
    } else if (hash === '#/users' && this.#session.user.role === 'admin') {
      setViewTitle('Users');
      document.querySelector('[data-nav="users"]')?.setAttribute('aria-current', 'page');
      this.#users ??= new UsersView();
      this.#main.append(this.#users.element);
      void this.#users.load();
    } else {
      setViewTitle('Worklist');
      document.querySelector('[data-nav="worklist"]')?.setAttribute('aria-current', 'page');
      this.#main.append(h('div', { class: 'home' }, this.#worklist.element, this.#feed.element));
      this.#feed.render();
    }
    // WCAG 2.4.3: after a navigation the reader continues from the new view's heading, not from <body>.
    if (this.#focusView) this.#main.querySelector<HTMLElement>('h1')?.focus();
    this.#focusView = false;
  }

  async logout(): Promise<void> {
    await api('DELETE', '/api/session').catch(() => undefined);
    this.end('You have logged out.');
  }

  end(notice: string): void {
    this.#live?.stop();
    this.#worklist.stop();
    this.#patient?.stop();
    window.clearInterval(this.#keepAlive);
    window.removeEventListener('hashchange', this.#onHash);
    for (const type of ['keydown', 'pointerdown', 'wheel']) window.removeEventListener(type, this.#onActivity);
    shell = undefined;
    setSession(null);
    showLogin(notice);
  }
}

let shell: Shell | undefined;

function showLogin(notice?: string): void {
  clear(root);
  setCriticalCount(0);
  setViewTitle('Log in');
  root.append(
    loginView(notice, (session) => {
      setSession(session);
      shell = new Shell(session, true);
      void shell.start();
    }),
  );
  // `autofocus` works once per page: after a log-out the form is new, and focus would stay on <body>.
  document.getElementById('username')?.focus();
}

whenUnauthorized(() => shell?.end('Your session has ended (inactivity or log-out elsewhere). Log in again to continue.'));

async function boot(): Promise<void> {
  try {
    const session = await api<SessionInfo>('GET', '/api/session');
    setSession(session);
    shell = new Shell(session, false);
    await shell.start();
  } catch {
    showLogin();
  }
}

void boot();
