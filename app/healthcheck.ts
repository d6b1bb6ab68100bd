import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pathToFileURL } from 'node:url';
import { loadConfig, type VigilConfig } from './config.js';

/** Where this machine reaches the HTTP listener: a wildcard bind address is reached on loopback. */
function loopbackOf(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host;
}

/**
 * Asks the Vigil configured by `config` for `/readyz`, over HTTPS when VIGIL_HTTP_TLS is on. The container's
 * health check runs it; it resolves to the HTTP status, or rejects when nothing answers in `timeoutMs`.
 *
 * Over HTTPS the server is trusted by its own certificate (VIGIL_TLS_CERT, which may be self-signed or issued
 * under a private CA: allowPartialTrustChain trusts the leaf itself), not by the host name, which the loopback
 * address never matches.
 */
export function probeReadiness(config: Pick<VigilConfig, 'host' | 'httpPort' | 'tls'>, timeoutMs = 4_000): Promise<number> {
  const target = { host: loopbackOf(config.host), port: config.httpPort, path: '/readyz', method: 'GET', timeout: timeoutMs };
  return new Promise((resolve, reject) => {
    const done = (res: { statusCode?: number | undefined; resume(): void }) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    };
    const req = config.tls?.http
      ? httpsRequest({ ...target, ca: config.tls.cert, allowPartialTrustChain: true, checkServerIdentity: () => undefined }, done)
      : httpRequest(target, done);
    req.on('timeout', () => req.destroy(new Error(`no answer from ${target.host}:${target.port} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}

/** `node dist/app/healthcheck.js`: exit 0 when Vigil is ready or degraded (200), 1 otherwise (Docker HEALTHCHECK). */
async function main(): Promise<void> {
  try {
    const status = await probeReadiness(loadConfig());
    if (status !== 200) console.error(`vigil healthcheck: /readyz answered ${status}`);
    process.exitCode = status === 200 ? 0 : 1;
  } catch (err) {
    console.error(`vigil healthcheck: ${(err as Error).message}`);
    process.exitCode = 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
