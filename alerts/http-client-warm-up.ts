import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * With Node's proxy support on (`NODE_USE_ENV_PROXY=1` or `--use-env-proxy`), a request to 127.0.0.1 can go to
 * the proxy instead of our listener: then there is no warm-up, and the first delivery compiles, as before.
 */
function proxySupportOn(): boolean {
  return process.env.NODE_USE_ENV_PROXY === '1' || process.execArgv.includes('--use-env-proxy');
}

/**
 * One webhook-sized POST through `fetch` to a listener of our own on 127.0.0.1, answered and closed. Resolves
 * whether the exchange completed; never throws.
 *
 * Why: Node compiles its bundled HTTP client (undici's fetch, and its WebAssembly HTTP parser) on first use, on
 * the calling thread. Done by the first alert after a start, that is the broker's thread at the moment a patient's
 * alert goes out: in a CPU profile of `npm run bench:throughput` paced at 12,000 readings/s from 100 devices, the
 * first delivery held the main thread 17 ms in the parser's compile alone, every device's PUBACK waiting behind
 * it (docs/benchmarks.md, "A seventh look"). The request carries no patient data; the receiver sees nothing.
 * Bounded by `timeoutMs`, since the sender's first delivery waits for it.
 */
export async function warmHttpClient(timeoutMs = 1_000): Promise<boolean> {
  if (proxySupportOn()) return false;
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
    return response.ok;
  } catch {
    // Loopback refused or too slow: the first delivery compiles instead.
    return false;
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
