import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { Principal } from '../dashboard/auth/principal.js';
import { LiveHub } from '../dashboard/live/live-hub.js';
import { bulkyAlertEvent, stalledPeer } from './support/live-peers.js';
import { waitFor } from './support/temp.js';

const ADMIN: Principal = { kind: 'token', userId: null, username: 'admin', displayName: 'admin', role: 'admin', careTeams: [] };



describe('live channel with a stalled client', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('drops the stalled client once its buffer passes the bound, while a healthy client gets every event in order', async () => {
    let dropped = 0;
    const hub = new LiveHub({
      maxBufferedBytes: 256 * 1024,
      readingBatchMs: 100,
      onDropped: () => dropped++,
      access: { canSeePatient: () => true, patientName: () => 'P', sessionValid: async () => true, accessChanged: async () => false, eventsAfter: () => [] },
    });
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => hub.close());
    server.on('connection', (socket) => hub.attach(socket, ADMIN, 0, '127.0.0.1'));
    const port = (server.address() as AddressInfo).port;

    const stalled = await stalledPeer(port);
    cleanups.push(() => stalled.destroy());
    const healthy = new WebSocket(`ws://127.0.0.1:${port}/live`);
    const seqs: number[] = [];
    healthy.on('message', (data) => {
      const m = JSON.parse(data.toString()) as { type: string; seq?: number };
      if (m.type === 'alert.updated') seqs.push(m.seq!);
    });
    cleanups.push(() => healthy.close());
    await new Promise<void>((resolve) => healthy.once('open', () => resolve()));
    await waitFor(() => hub.clients === 2, { what: 'both clients attached' });

    // 10,000 events of about 2 KB (20 MB, far beyond the loopback socket buffers), in small bursts as a busy ward sends them.
    const total = 10_000;
    const rssBefore = process.memoryUsage().rss;
    for (let seq = 1; seq <= total; seq++) {
      hub.onAlertEvent(bulkyAlertEvent(seq, 1));
      if (seq % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await waitFor(() => seqs.length === total, { what: 'the healthy client to receive every event', timeoutMs: 30_000 });
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(dropped).toBe(1);
    expect(hub.clients).toBe(1);
    // The server keeps at most the bound for the dropped client, not the 20 MB it could not deliver.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
    // And the server hung up on it (close frame, then a hard close since a frozen peer never answers).
    const gone = new Promise<void>((resolve) => stalled.once('close', () => resolve()));
    stalled.resume();
    await gone;
  });
});
