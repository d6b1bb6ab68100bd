import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { warmHttpClient } from './http-client-warm-up.js';

// The built module (npm test builds first), in a fresh process: the test runner's own process may have used fetch.
const BUILT = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'alerts', 'http-client-warm-up.js')).href;

/** Runs `warm` in a fresh process, then a first delivery to a receiver; counts WebAssembly compiles in each. */
function firstDelivery(warm: string): { warmed: unknown; compiledByWarmUp: number; compiledByDelivery: number } {
  const script = `
    let compiles = 0;
    for (const name of ['compile', 'instantiate']) {
      const original = WebAssembly[name];
      WebAssembly[name] = (...args) => (compiles++, original.apply(WebAssembly, args));
    }
    const OriginalModule = WebAssembly.Module;
    WebAssembly.Module = class extends OriginalModule { constructor(...args) { compiles++; super(...args); } };
    const { warmHttpClient } = await import(${JSON.stringify(BUILT)});
    const warmed = await (${warm});
    const compiledByWarmUp = compiles;
    const { createServer } = await import('node:http');
    const receiver = createServer((request, response) => { request.resume(); request.on('end', () => response.end('ok')); });
    await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const response = await fetch('http://127.0.0.1:' + receiver.address().port + '/', { method: 'POST', body: '{}' });
    await response.arrayBuffer();
    receiver.close();
    process.stdout.write(JSON.stringify({ warmed, compiledByWarmUp, compiledByDelivery: compiles - compiledByWarmUp }));`;
  // The child must end by itself: a listener left open would keep it alive past the timeout.
  const env = { ...process.env, NODE_USE_ENV_PROXY: '' };
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000, env }));
}

describe('warmHttpClient', () => {
  afterEach(() => {
    delete process.env.NODE_USE_ENV_PROXY;
  });

  it('compiles the HTTP client before the first delivery, which then compiles nothing', () => {
    const cold = firstDelivery('undefined');
    expect(cold.compiledByDelivery).toBeGreaterThan(0);
    const warm = firstDelivery('warmHttpClient()');
    expect(warm).toMatchObject({ warmed: true, compiledByDelivery: 0 });
    expect(warm.compiledByWarmUp).toBeGreaterThan(0);
  });

  it('does not warm up when Node may send a request to 127.0.0.1 through a proxy', async () => {
    process.env.NODE_USE_ENV_PROXY = '1';
    await expect(warmHttpClient()).resolves.toBe(false);
  });
});
