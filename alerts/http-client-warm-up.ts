import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * One signed-webhook-sized POST through `fetch` to a listener of our own on loopback, answered and closed.
 *
 * Why: Node compiles its bundled HTTP client (undici's fetch, and its WebAssembly HTTP parser) on first use, on
 * the calling thread. Done by the first alert after a start, that is the broker's thread at the moment a patient's
 * alert goes out: measured in `npm run bench` (100 devices paced at 12,000 readings/s, a crisis alert every
 * 40 ms), the first delivery stalled every device's PUBACK for 17 ms in the parser's compile alone, and the
 * first 1.5 s of the run had a PUBACK p99 of 170-270 ms against 120-160 ms warmed (docs/benchmarks.md).
 * The request is addressed to 127.0.0.1 and carries no patient data; the receiver sees nothing. Never throws:
 * a failure only leaves the compile to the first delivery, as before.
 */
export async function warmHttpClient(timeoutMs = 5_000): Promise<void> {
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.end('{}'));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"warm-up":true}',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer();
  } catch {
    // Loopback refused or too slow: the first delivery compiles instead.
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
