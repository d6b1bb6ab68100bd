import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVigil, type TestVigil } from './support/vigil.js';

/** Sends raw bytes to the HTTP port and answers the status and body of what came back before the server closed. */
function rawExchange(port: number, text: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      const [head, body = ''] = received.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head ?? '')?.[1]);
      if (!status) return reject(new Error(`no answer: ${JSON.stringify(received)}`));
      resolve({ status, body: JSON.parse(body) });
    });
    socket.write(text);
  });
}

/**
 * Requests Node refuses before Fastify routes them (headers over 16 KiB, a request line that is not HTTP) are
 * answered in the API's one error body `{code, message}`, not in another shape, and the connection is closed.
 */
describe('requests refused by the HTTP parser', () => {
  let t: TestVigil;
  beforeAll(async () => {
    t = await startTestVigil();
  });
  afterAll(async () => {
    await t?.stop();
  });

  it('answers a header overflow with 431 and a malformed request with 400, each with a code', async () => {
    const port = t.vigil.httpPort;
    const overflow = await rawExchange(port, `GET /api/worklist?q=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: vigil\r\n\r\n`);
    expect(overflow).toEqual({ status: 431, body: { code: 'VIGIL_ERR_BAD_REQUEST', message: expect.stringMatching(/header/i) } });
    const garbage = await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toEqual({ status: 400, body: { code: 'VIGIL_ERR_BAD_REQUEST', message: expect.any(String) } });
    const badLength = await rawExchange(port, 'POST /api/session HTTP/1.1\r\nHost: vigil\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}');
    expect(badLength).toEqual({ status: 400, body: { code: 'VIGIL_ERR_BAD_REQUEST', message: expect.any(String) } });
  });
});
