import { describe, expect, it } from 'vitest';
import { PasswordGate } from './password-gate.js';

describe('the password gate', () => {
  it('runs at most `concurrent` checks, queues a few, and refuses the rest at once', async () => {
    const gate = new PasswordGate(2, 3);
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const check = () =>
      gate.run(async () => {
        running += 1;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running -= 1;
        return true;
      });
    const attempts = Array.from({ length: 8 }, () => check().then(() => 'ok', (err: { code?: string }) => err.code));
    await new Promise((resolve) => setImmediate(resolve));
    expect(releases).toHaveLength(2);
    // 2 running and 3 waiting: the other 3 are refused without waiting.
    for (let i = 0; i < 20 && releases.length < 5; i++) {
      releases.shift()?.();
      await new Promise((resolve) => setImmediate(resolve));
    }
    while (releases.length) {
      releases.shift()!();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const results = await Promise.all(attempts);
    expect(results.filter((r) => r === 'ok')).toHaveLength(5);
    expect(results.filter((r) => r === 'VIGIL_ERR_BUSY')).toHaveLength(3);
    expect(most).toBe(2);
  });
});
