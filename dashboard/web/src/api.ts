import type { SessionInfo } from './types.js';

/** An API error with the server's code (VIGIL_ERR_...) and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken = '';
let onUnauthorized: () => void = () => undefined;

export function setSession(session: SessionInfo | null): void {
  csrfToken = session?.csrfToken ?? '';
}

/** Called when the server says the session is over (inactivity, log-out elsewhere, account disabled). */
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

/**
 * JSON over fetch, same origin, with the CSRF token on every state-changing request. `background`: the page
 * asks by itself (a live refresh), which does not count as the user's activity for the automatic log-off.
 */
export async function api<T>(method: string, path: string, body?: unknown, options: { background?: boolean } = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.background) headers['x-vigil-background'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => ({}))) as { code?: string; message?: string };
  if (!response.ok) {
    // A refused login is not an ended session; any other 401 is (inactivity, log-out elsewhere, disabled).
    if (response.status === 401 && !(method === 'POST' && path === '/api/session')) onUnauthorized();
    throw new ApiError(response.status, data.code ?? 'VIGIL_ERR_INTERNAL', data.message ?? response.statusText);
  }
  return data as T;
}
