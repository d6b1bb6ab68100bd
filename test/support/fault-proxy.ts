import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode = 'pass' | 'error500' | 'hang';

/**
 * An HTTP proxy in front of a real InfluxDB that can answer 500 or never answer, to test the shipper against
 * a failing store without a mock of the store itself.
 */
export async function startFaultProxy(target: string) {
  let mode: FaultMode = 'pass';
  /** Requests the fault applies to (by path): all of them, or only writes, so that queries still answer. */
  let only: RegExp | undefined;
  const targetUrl = new URL(target);
  const hanging = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    const faulted = !only || only.test(req.url ?? '');
    if (mode === 'error500' && faulted) {
      req.resume();
      res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"injected fault"}');
      return;
    }
    if (mode === 'hang' && faulted) {
      req.resume();
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    const upstream = request(
      { host: targetUrl.hostname, port: targetUrl.port, path: req.url, method: req.method, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    setMode(next: FaultMode, paths?: RegExp) {
      mode = next;
      only = paths;
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
