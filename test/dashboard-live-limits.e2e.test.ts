import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, openLive, type DashboardSession, type LiveClient } from './support/dashboard-client.js';
import { waitFor } from './support/temp.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';
const MAX = 16;

/** How an upgrade ended: opened (then closed by us), refused with an HTTP status, or closed by the server with a code. */
function attempt(url: string, cookie: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/api/live`, { headers: { cookie } });
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
    t = await startTestVigil();
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
});
