import type { FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

/** Socket errors that are the peer's doing: a frame that breaks the protocol (`ws` codes), a connection dropped. */
const PEER_ERRORS = /^(WS_ERR_|ECONNRESET$|EPIPE$|ETIMEDOUT$)/;

/**
 * The error handler of every WebSocket route (the live channel, MQTT over WebSocket). `ws` has already answered a
 * protocol violation with its close code (1009 too big, 1007 not UTF-8, 1002...); the connection is ended either way.
 * A peer's fault is logged at info without a stack: anyone can open a connection to /mqtt, and an error line per
 * connection would bury the server's own failures and page whoever watches for errors.
 */
export function webSocketErrorHandler(error: Error, socket: WebSocket, request: FastifyRequest): void {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (PEER_ERRORS.test(code)) request.log.info({ code, path: request.url.split('?')[0] }, 'websocket closed: the client broke the protocol or went away');
  else request.log.error({ err: error }, 'websocket failed');
  socket.terminate();
}
