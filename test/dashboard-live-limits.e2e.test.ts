import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, openLive, type DashboardSession, type LiveClient } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
const MAX = 16;
const TOKEN = 'live-limits-admin-token-0123456789';

/** How an upgrade ended: opened (then closed by us), refused with an HTTP status, or closed by the server with a code. */
function attempt(url: string, cookie: string): Promise<string> {
  return attemptWith(url, { cookie });
}

function attemptWith(url: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`, { headers });
    socket.once('unexpected-response', (_req, res) => resolve(`http ${res.statusCode}`));
    socket.once('error', () => resolve('error'));
    socket.once('message', () => resolve('ready'));
    socket.once('close', (code) => resolve(`close ${code}`));
  });
}

/** One session or token cannot hold an unbounded number of live sockets (and their 5-second access checks). */
describe('live channel connections per caller', () => {
  let t: TestVigil;
  let card: DashboardSession;
  const opened: LiveClient[] = [];
  beforeAll(async () => {
    t = await startTestVigil({ VIGIL_ADMIN_TOKEN: TOKEN });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
  });
  afterAll(async () => {
    for (const c of opened) c.socket.terminate();
    await t?.stop();
  });

  it('refuses a session its 17th open connection with 429, counts a burst of upgrades at once, and frees a slot on close', async () => {
    for (let i = 0; i < MAX; i++) opened.push(await card.live());
    expect(await attempt(t.httpUrl, card.cookie)).toBe('http 429');
    // Another session of the same user, a second tab after a second login, has its own allowance.
    const other = await login(t.httpUrl, 'card', PASSWORD);
    const burst = await Promise.all(Array.from({ length: 40 }, () => attempt(t.httpUrl, other.cookie)));
    expect(burst.filter((r) => r === 'ready')).toHaveLength(MAX);
    expect(burst.every((r) => r === 'ready' || r === 'http 429' || r === 'close 4029')).toBe(true);
    opened[0]!.close();
    await opened[0]!.closed;
    await waitFor(async () => ((await attempt(t.httpUrl, card.cookie)) === 'ready' ? true : undefined), { what: 'the freed slot' });
    // The server answered every refusal and is still serving.
    expect((await card.request('GET', '/api/worklist')).status).toBe(200);
    await openLive(t.httpUrl, { cookie: card.cookie }).then(
      (c) => (opened.push(c), expect.unreachable('a 17th socket again')),
      (e: unknown) => expect(String(e)).toMatch(/429/),
    );
  });

  it('gives each integration holding the admin token its own allowance: one that leaks sockets does not lock the others out', async () => {
    const as = (actor: string) => ({ authorization: `Bearer ${TOKEN}`, 'x-vigil-actor': actor });
    for (let i = 0; i < MAX; i++) opened.push(await openLive(t.httpUrl, as('runaway-script')));
    // The runaway client has its allowance, and no more.
    expect(await attemptWith(t.httpUrl, as('runaway-script'))).toBe('http 429');
    // The operators' wall board, with the same token, still connects and follows the alerts.
    const wallboard = await openLive(t.httpUrl, as('ops-wallboard'));
    opened.push(wallboard);
    expect(wallboard.messages.some((m) => m.type === 'ready')).toBe(true);
  });
});
