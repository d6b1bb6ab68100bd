import { api, ApiError } from './api.js';
import { h } from './dom.js';
import type { SessionInfo } from './types.js';

/** The login form; `notice` explains why it is shown again (logged off after inactivity, say). */
export function loginView(notice: string | undefined, onLoggedIn: (session: SessionInfo) => void): HTMLElement {
  const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
  // Focus starts in the user name box: the reason the form is shown again is read with it.
  const username = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true, 'aria-describedby': notice ? 'login-notice login-error' : 'login-error' });
  const password = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true, 'aria-describedby': 'login-error' });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Log in');
  const form = h(
    'form',
    { class: 'login-form', 'aria-labelledby': 'login-title' },
    h('div', { class: 'brand brand-large' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'Vigil'),
    h('h1', { id: 'login-title' }, 'Clinician log in'),
    notice ? h('p', { class: 'notice', id: 'login-notice', role: 'status' }, notice) : null,
    h('label', { for: 'username' }, 'User name'),
    username,
    h('label', { for: 'password' }, 'Password'),
    password,
    error,
    submit,
    h('p', { class: 'muted small' }, 'Access to patient data is recorded in the audit log.'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submit.disabled = true;
    error.textContent = '';
    api<SessionInfo>('POST', '/api/session', { username: username.value.trim(), password: password.value })
      .then((session) => onLoggedIn(session))
      .catch((err: unknown) => {
        error.textContent = err instanceof ApiError ? err.message : 'Vigil cannot be reached; try again.';
        password.value = '';
        password.focus();
      })
      .finally(() => (submit.disabled = false));
  });
  return h('main', { class: 'login-page' }, form);
}
