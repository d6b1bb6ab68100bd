import { api, ApiError } from './api.js';
import { ago } from './format.js';
import { askText } from './dialogs.js';
import { announce, clear, h } from './dom.js';
import { keepFocus } from './focus.js';

interface UserRow {
  readonly username: string;
  readonly displayName: string;
  readonly role: 'admin' | 'clinician';
  readonly careTeams: string[];
  readonly disabledAt: number | null;
  readonly lockedUntil: number | null;
  readonly lastLoginAt: number | null;
}

/** A password shown once, like the CLI does: long, random, from the browser's CSPRNG. */
function generatePassword(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(15));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_');
}

const teamsOf = (text: string) => text.split(',').map((t) => t.trim()).filter(Boolean);

/** Administrators: create accounts, change roles and care teams, reset passwords, disable and enable. */
export class UsersView {
  readonly element: HTMLElement;
  readonly #body = h('tbody');

  constructor() {
    const username = h('input', { id: 'nu-username', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9][A-Za-z0-9._@-]{1,63}' });
    const name = h('input', { id: 'nu-name', autocomplete: 'off' });
    const role = h('select', { id: 'nu-role' }, h('option', { value: 'clinician' }, 'Clinician'), h('option', { value: 'admin' }, 'Administrator'));
    const teams = h('input', { id: 'nu-teams', placeholder: 'cardiology, community', autocomplete: 'off' });
    const form = h(
      'form',
      { class: 'filters new-user' },
      h('label', { for: 'nu-username' }, 'User name'),
      username,
      h('label', { for: 'nu-name' }, 'Name'),
      name,
      h('label', { for: 'nu-role' }, 'Role'),
      role,
      h('label', { for: 'nu-teams' }, 'Care teams'),
      teams,
      h('button', { type: 'submit', class: 'btn btn-primary btn-small' }, 'Add user'),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const password = generatePassword();
      api('POST', '/api/users', { username: username.value.trim(), displayName: name.value.trim() || undefined, role: role.value, careTeams: teamsOf(teams.value), password })
        .then(() => {
          this.#showPassword(username.value.trim(), password);
          form.reset();
          return this.load();
        })
        .catch((err: unknown) => announce(err instanceof ApiError ? err.message : 'The user could not be added.', 'error'));
    });
    this.element = h(
      'section',
      { class: 'panel users', 'aria-labelledby': 'users-title' },
      h('header', { class: 'panel-header' }, h('h1', { id: 'users-title', tabindex: '-1' }, 'Users'), form),
      h('div', { id: 'new-password', 'aria-live': 'polite' }),
      h(
        'table',
        { class: 'data-table' },
        h('caption', { class: 'sr-only' }, 'Dashboard users'),
        h('thead', {}, h('tr', {}, ['User', 'Name', 'Role', 'Care teams', 'State', 'Last login'].map((t) => h('th', { scope: 'col' }, t)), h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Actions')))),
        this.#body,
      ),
    );
  }

  #showPassword(username: string, password: string): void {
    const box = this.element.querySelector('#new-password')!;
    clear(box);
    box.append(
      h('p', { class: 'notice pad' }, `Password for ${username}: `, h('code', { class: 'secret' }, password), ' Give it to the user now; it is not shown again.'),
    );
  }

  async load(): Promise<void> {
    const { users } = await api<{ users: UserRow[] }>('GET', '/api/users');
    // After a change the table is rebuilt: focus stays on the button used (or its row).
    keepFocus(this.#body, () => this.#rows(users), () => this.element.querySelector<HTMLElement>('#users-title'));
  }

  #rows(users: UserRow[]): void {
    clear(this.#body);
    // Every row has the same three buttons: each says whose it is, for a screen reader listing buttons.
    const whose = (u: UserRow) => h('span', { class: 'sr-only' }, ` of ${u.username}`);
    for (const u of users) {
      const state = u.disabledAt ? 'disabled' : u.lockedUntil && u.lockedUntil > Date.now() ? 'locked' : 'active';
      const change = (body: object, done: string) =>
        api('PATCH', `/api/users/${encodeURIComponent(u.username)}`, body)
          .then(() => (announce(done), this.load()))
          .catch((err: unknown) => announce(err instanceof ApiError ? err.message : 'The change failed.', 'error'));
      this.#body.append(
        h(
          'tr',
          { 'data-username': u.username },
          h('td', {}, h('strong', {}, u.username)),
          h('td', {}, u.displayName),
          h('td', {}, u.role),
          h('td', {}, u.careTeams.join(', ') || '–'),
          h('td', {}, h('span', { class: `dot ${state === 'active' ? 'dot-on' : 'dot-off'}` }, state)),
          h('td', {}, ago(u.lastLoginAt)),
          h(
            'td',
            {},
            h('div', { class: 'row-actions' },
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'teams', onclick: async () => {
              const teams = await askText(`Care teams of ${u.username}`, 'Care teams, separated by commas', u.careTeams.join(', '), 'Save');
              if (teams !== undefined) await change({ careTeams: teamsOf(teams) }, 'Care teams changed');
            } }, 'Teams', whose(u)),
            h('button', { type: 'button', class: 'btn btn-small', 'data-action': 'reset-password', onclick: () => {
              const password = generatePassword();
              void change({ password }, 'Password reset; their sessions have ended and their API tokens are revoked').then(() => this.#showPassword(u.username, password));
            } }, 'Reset password', whose(u)),
            h('button', { type: 'button', class: 'btn btn-small btn-quiet', 'data-action': 'enable', onclick: () => void change({ disabled: !u.disabledAt }, u.disabledAt ? 'User enabled' : 'User disabled; their sessions have ended and their API tokens are revoked') }, u.disabledAt ? 'Enable' : 'Disable', whose(u)),
          )),
        ),
      );
    }
  }
}
