import { PassThrough } from 'node:stream';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { login, type DashboardSession } from './support/dashboard-client.js';
import { startTestVigil, type TestVigil } from './support/vigil.js';

const PASSWORD = 'correct horse battery staple';

/** Opens a WebSocket, sends `frame` and answers the close code the server chose. */
async function closeCodeAfter(url: string, headers: Record<string, string>, frame: Buffer, options: { protocol?: string; text?: boolean } = {}): Promise<number> {
  const { protocol, text = false } = options;
  const socket = new WebSocket(url, protocol, { headers });
  await new Promise<void>((resolve, reject) => (socket.once('open', () => resolve()), socket.once('error', reject)));
  const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
  socket.on('error', () => undefined);
  socket.send(frame, { binary: !text });
  return closed;
}

/**
 * What a client sends on a WebSocket that breaks the protocol (a frame over the size limit, text that is not UTF-8)
 * is the client's fault: the socket is closed with the protocol's code, and the server logs no error for it (an
 * error line, with its stack, per connection anyone can open is noise that buries real failures and pages people).
 */
describe('malformed WebSocket frames', () => {
  let t: TestVigil;
  let card: DashboardSession;
  let log = '';
  beforeAll(async () => {
    const stream = new PassThrough();
    stream.on('data', (chunk: Buffer) => (log += chunk.toString()));
    t = await startTestVigil({ VIGIL_LOG_LEVEL: 'info', VIGIL_MAX_PAYLOAD_BYTES: '4096' }, undefined, { log: stream });
    await t.vigil.users.add({ username: 'card', role: 'clinician', careTeams: ['cardiology'], password: PASSWORD });
    card = await login(t.httpUrl, 'card', PASSWORD);
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('closes the live channel and MQTT over WebSocket on an oversized or non-UTF-8 frame, logging no error', async () => {
    const ws = t.httpUrl.replace(/^http/, 'ws');
    const live = `${ws}/api/live`;
    expect(await closeCodeAfter(live, { cookie: card.cookie }, Buffer.alloc(64 * 1024))).toBe(1009);
    expect(await closeCodeAfter(live, { cookie: card.cookie }, Buffer.from([0xff, 0xfe]), { text: true })).toBe(1007);
    expect(await closeCodeAfter(`${ws}/mqtt`, {}, Buffer.alloc(64 * 1024), { protocol: 'mqtt' })).toBe(1009);
    // The server is serving.
    expect((await card.request('GET', '/api/worklist')).status).toBe(200);
    const errors = log.split('\n').filter((line) => line && (JSON.parse(line) as { level: number }).level >= 50);
    expect(errors).toEqual([]);
  });
});
