import WebSocket from 'ws';
import { waitFor } from './temp.js';

export interface ApiResponse<T = Record<string, unknown>> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** A logged-in dashboard user speaking the API as the page does: session cookie plus X-CSRF-Token. */
export interface DashboardSession {
  readonly cookie: string;
  readonly csrfToken: string;
  request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse<T>>;
  live(after?: number): Promise<LiveClient>;
}

export interface LiveClient {
  readonly socket: WebSocket;
  readonly messages: { type: string; seq?: number; [key: string]: unknown }[];
  readonly closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

export async function call<T = Record<string, unknown>>(baseUrl: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // CSV and other text answers stay text.
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

export function openLive(baseUrl: string, headers: Record<string, string>, after = 0): Promise<LiveClient> {
  const socket = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/api/live?after=${after}`, { headers });
  const messages: LiveClient['messages'] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('unexpected-response', (_req, res) => reject(new Error(`live channel refused: HTTP ${res.statusCode}`)));
    socket.once('open', () => {
      void waitFor(() => messages.some((m) => m.type === 'ready'), { what: 'the live channel to be ready' }).then(() =>
        resolve({ socket, messages, closed, close: () => socket.close() }),
      );
    });
  });
}

export async function login(baseUrl: string, username: string, password: string): Promise<DashboardSession> {
  const response = await call<{ csrfToken: string }>(baseUrl, 'POST', '/api/session', { username, password });
  if (response.status !== 200) throw new Error(`login failed: HTTP ${response.status} ${JSON.stringify(response.body)}`);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const cookie = setCookie.split(';')[0]!;
  const csrfToken = response.body.csrfToken;
  return {
    cookie,
    csrfToken,
    request: (method, path, body, headers = {}) =>
      call(baseUrl, method, path, body, { cookie, ...(method === 'GET' ? {} : { 'x-csrf-token': csrfToken }), ...headers }),
    live: (after = 0) => openLive(baseUrl, { cookie }, after),
  };
}
