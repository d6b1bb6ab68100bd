import { describe, expect, it } from 'vitest';
import { backoffDelay, Pause, runWithRetry } from './retry.js';

describe('retry', () => {
  it('doubles the delay from the minimum up to the cap, with equal jitter or without', () => {
    const plain = { minMs: 250, maxMs: 30_000, jitter: false };
    expect([0, 1, 2, 6, 7, 50].map((a) => backoffDelay(a, plain))).toEqual([250, 500, 1000, 16_000, 30_000, 30_000]);
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(3, { minMs: 250, maxMs: 30_000 });
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('a pause ends at once when woken', async () => {
    const pause = new Pause();
    const started = Date.now();
    const sleeping = pause.sleep(60_000);
    pause.wake();
    await sleeping;
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('runs a failing step again after a backoff until it returns, reporting each failure', async () => {
    const failures: unknown[] = [];
    let runs = 0;
    await runWithRetry(
      async () => {
        if (++runs < 4) throw new Error(`failure ${runs}`);
      },
      { running: () => true, onFailure: (err) => failures.push((err as Error).message), backoff: { minMs: 1, maxMs: 4 }, pause: new Pause() },
    );
    expect(runs).toBe(4);
    expect(failures).toEqual(['failure 1', 'failure 2', 'failure 3']);
  });

  it('stops retrying once it is told to stop', async () => {
    let running = true;
    let runs = 0;
    await runWithRetry(
      async () => {
        runs++;
        running = false;
        throw new Error('down');
      },
      { running: () => running, onFailure: () => undefined, backoff: { minMs: 1, maxMs: 1 }, pause: new Pause() },
    );
    expect(runs).toBe(1);
  });
});
