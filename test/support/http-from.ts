import { request } from 'node:http';

/**
 * A JSON POST to Vigil's HTTP port from a chosen loopback address (127.0.0.2, 127.0.0.3...), for tests where
 * per-address behaviour matters; resolves with the status code.
 */
export function postFrom(port: number, localAddress: string, path: string, json: unknown, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(json);
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
