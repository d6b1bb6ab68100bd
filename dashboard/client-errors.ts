import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorCodeOfStatus } from '../domain/index.js';

/** What Node's HTTP parser refused, in the client's terms. */
function refusal(err: NodeJS.ErrnoException): { status: number; message: string } {
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { status: 408, message: 'the request was not received in time' };
  if (err.code === 'HPE_HEADER_OVERFLOW') return { status: 431, message: 'the request line and headers exceed 16 KiB' };
  return { status: 400, message: 'the request is not valid HTTP/1.1' };
}

/**
 * Fastify's `clientErrorHandler`: a request Node's parser refuses before any route (headers too large, a malformed
 * request line or Content-Length) is answered with the API's one error body, `{code, message}`, like every other
 * refusal, then the connection is closed. A connection the client reset has nobody to answer.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, message } = refusal(err);
  const body = JSON.stringify({ code: errorCodeOfStatus(status), message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
