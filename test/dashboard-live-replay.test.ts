import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Principal } from '../dashboard/auth/principal.js';
import { LiveHub } from '../dashboard/live/live-hub.js';
import { bulkyAlertEvent, stalledPeer } from './support/live-peers.js';
import { waitFor } from './support/temp.js';

const CLINICIAN: Principal = { kind: 'session', userId: 1, username: 'card', displayName: 'card', role: 'clinician', careTeams: ['cardiology'], sessionId: 's' };



/**
 * A connection with `after=0` asks for the whole alert history, read page by page on the event loop that also
 * acknowledges devices. The replay is bounded by what the client takes: once it is dropped as too slow, no more of
 * the history is read for it.
 */
describe('live channel replay', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('stops reading the alert history for a client dropped as too slow during its replay', async () => {
    const history = 500_000;
    let pagesRead = 0;
    const hub = new LiveHub({
      maxBufferedBytes: 256 * 1024,
      readingBatchMs: 100,
      access: {
        canSeePatient: () => true,
        patientName: () => 'P',
        sessionValid: async () => true,
        accessChanged: async () => false,
        eventsAfter: (seq, limit) => {
          pagesRead += 1;
          return Array.from({ length: Math.max(0, Math.min(limit, history - seq)) }, (_, i) => bulkyAlertEvent(seq + i + 1));
        },
      },
    });
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)), () => hub.close());
    let replay: { replayed: number; lastSeq: number } | undefined;
    server.on('connection', (socket) => (replay = hub.attach(socket, CLINICIAN, 0, '127.0.0.1')));
    const peer = await stalledPeer((server.address() as AddressInfo).port, '/live?after=0');
    cleanups.push(() => peer.destroy());
    await waitFor(() => replay, { what: 'the replay to end' });
    // A few megabytes of the history reach the socket's buffers, then the client is dropped and the rest is not read.
    expect(pagesRead).toBeLessThan(20);
    expect(replay!.replayed).toBeLessThan(20_000);
    expect(hub.clients).toBe(0);
  });
});
