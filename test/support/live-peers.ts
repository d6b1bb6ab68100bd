import { connect, type Socket } from 'node:net';
import type { AlertEvent } from '../../alerts/index.js';

/** An alert event of about 2 KB (its message), for filling a live client's buffer; `alertId` defaults to `seq`. */
export function bulkyAlertEvent(seq: number, alertId = seq): AlertEvent {
  return {
    seq,
    type: 'alert.updated',
    at: Date.now(),
    actor: null,
    change: 'repeat',
    alert: { id: alertId, patientId: 'p-1', ruleId: 'bp.crisis', message: 'x'.repeat(2000) } as AlertEvent['alert'],
  };
}

/**
 * A peer that completes the WebSocket handshake on `path` and then never reads again: a frozen browser tab, or a
 * script asking for everything.
 */
export async function stalledPeer(port: number, path = '/live'): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  socket.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.pause();
  return socket;
}
