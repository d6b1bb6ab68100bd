import type { IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createWebSocketStream, type WebSocket } from 'ws';
import type { ConnectionLimits } from './connection-limits.js';
import { GuardedStream, type GuardViolation, type StreamLimits } from './stream-guard.js';

/** Why a connection was closed before or instead of authenticating (a metric label). `malformed_packet` is the
 * gateway's (a packet the MQTT parser refused before login); the others are the listeners' and their guard's. */
export type ConnectionRefusal = GuardViolation | 'max_connections' | 'max_connections_per_address' | 'connect_deadline' | 'origin' | 'malformed_packet';

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly port: number; readonly cert: Buffer; readonly key: Buffer; readonly ca?: Buffer | undefined } | undefined;
  readonly stream: StreamLimits;
  /** A connection must have authenticated this long after it was accepted (and after its TLS handshake). */
  readonly connectTimeoutMs: number;
  /** Origins allowed on MQTT over WebSocket; a request without Origin (not a browser) is always allowed. */
  readonly webSocketOrigins: readonly string[] | '*';
  readonly limits: ConnectionLimits;
  readonly handle: (conn: Duplex, req?: IncomingMessage) => void;
  /** `fields` are logged with the refusal: never device data (the protocol level a CONNECT asked for). */
  readonly refused: (reason: ConnectionRefusal, address: string, fields?: object) => void;
}

/**
 * The MQTT listeners (TCP, TLS, and WebSocket connections handed over by the HTTP server). Every connection is
 * counted against the connection limits, given a deadline to authenticate, and read through a GuardedStream
 * before aedes parses a byte of it.
 */
export async function startListeners(o: ListenerOptions) {
  const servers: Server[] = [];

  type Admission = { authenticated: () => void; release: () => void };

  function guard(inner: Duplex, address: string, admission: Admission, req?: IncomingMessage): void {
    inner.once('close', admission.release);
    const conn = new GuardedStream(inner, address, o.stream, (reason, fields) => o.refused(reason, address, fields));
    conn.onAuthenticated = admission.authenticated;
    const deadline = setTimeout(() => {
      if (conn.authenticated || conn.destroyed) return;
      o.refused('connect_deadline', address);
      conn.destroy();
    }, o.connectTimeoutMs);
    deadline.unref();
    conn.once('close', () => clearTimeout(deadline));
    o.handle(conn, req);
  }

  /** Counts a raw socket against the limits; closes it at once when a limit is reached. */
  function admitSocket(socket: Socket): Admission | undefined {
    const address = socket.remoteAddress ?? 'unknown';
    const { verdict, authenticated, release } = o.limits.admit(address);
    if (verdict !== 'ok') {
      o.refused(verdict, address);
      socket.destroy();
      return undefined;
    }
    socket.once('close', release);
    return { authenticated, release };
  }

  async function listen(server: Server, port: number): Promise<number> {
    servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, o.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return (server.address() as AddressInfo).port;
  }

  const tcp = createTcpServer((socket) => {
    const admission = admitSocket(socket);
    if (admission) guard(socket, socket.remoteAddress ?? 'unknown', admission);
  });
  const mqttPort = await listen(tcp, o.port);

  let mqttsPort: number | undefined;
  if (o.tls) {
    const { cert, key, ca } = o.tls;
    // With a CA configured, devices must also present a client certificate it signed (mutual TLS).
    const mutual = ca !== undefined;
    const tls = createTlsServer(
      { cert, key, ca, requestCert: mutual, rejectUnauthorized: mutual, minVersion: 'TLSv1.2', handshakeTimeout: o.connectTimeoutMs },
      (socket: TLSSocket) => {
        const key = `${socket.remoteAddress}:${socket.remotePort}`;
        const admission = handshaking.get(key);
        handshaking.delete(key);
        guard(socket, socket.remoteAddress ?? 'unknown', { authenticated: admission?.authenticated ?? (() => undefined), release: () => undefined });
      },
    );
    // Counted at TCP accept, before the handshake: a descriptor is held from then on (released when it closes).
    const handshaking = new Map<string, Admission>();
    tls.on('connection', (socket: Socket) => {
      const admission = admitSocket(socket);
      if (!admission) return;
      const key = `${socket.remoteAddress}:${socket.remotePort}`;
      handshaking.set(key, admission);
      socket.once('close', () => handshaking.delete(key));
    });
    mqttsPort = await listen(tls, o.tls.port);
  }

  return {
    mqttPort,
    mqttsPort,
    servers,
    /** MQTT over WebSocket: the HTTP server hands each upgraded connection here. */
    handleWebSocket(socket: WebSocket, req: IncomingMessage): void {
      const address = req.socket.remoteAddress ?? 'unknown';
      const origin = req.headers.origin;
      // A browser always sends Origin; a device does not. A page on another site must not be able to use
      // visitors' browsers to open MQTT connections here.
      if (origin !== undefined && o.webSocketOrigins !== '*' && !o.webSocketOrigins.includes(origin)) {
        o.refused('origin', address);
        socket.close(1008, 'origin not allowed');
        return;
      }
      const { verdict, authenticated, release } = o.limits.admit(address);
      if (verdict !== 'ok') {
        o.refused(verdict, address);
        socket.close(1013, 'too many connections');
        return;
      }
      socket.once('close', release);
      guard(createWebSocketStream(socket), address, { authenticated, release }, req);
    },
  };
}
