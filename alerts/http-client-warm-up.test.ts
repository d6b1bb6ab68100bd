import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { warmHttpClient } from './http-client-warm-up.js';

// The built module (npm test builds first), in a fresh process: the test runner's own process may have used fetch.
const BUILT = pathToFileURL(join(import.meta.dirname, '..', 'dist', 'alerts', 'http-client-warm-up.js')).href;

describe('warmHttpClient', () => {
  it('compiles the HTTP client a webhook delivery uses, and leaves no listener or connection behind', () => {
    const script = `
      const loaded = () => process.moduleLoadList.some((m) => m.endsWith('deps/undici/undici'));
      const before = loaded();
      const { warmHttpClient } = await import(${JSON.stringify(BUILT)});
      await warmHttpClient();
      process.stdout.write(JSON.stringify({ before, after: loaded() }));`;
    // The child must end by itself: a listener or connection left open would keep it alive past the timeout.
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });

  it('resolves when the exchange fails, leaving the compile to the first delivery', async () => {
    await expect(warmHttpClient(0)).resolves.toBeUndefined();
  });
});
