import { describe, expect, it } from 'vitest';
import { LogLimiter } from './log-limiter.js';

describe('log limiter', () => {
  it('writes one line per key per interval, counting the events it stood for', () => {
    const limiter = new LogLimiter(1000);
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) limiter.note('k', (n) => counts.push(n), i * 100);
    limiter.note('k', (n) => counts.push(n), 1000);
    expect(counts).toEqual([1, 5]);
  });

  it('stays bounded, keeping the entries whose counts are not yet logged', () => {
    const limiter = new LogLimiter(1000, 3);
    const lines: string[] = [];
    const note = (key: string, now: number) => limiter.note(key, (n) => lines.push(`${key}:${n}`), now);
    note('a', 0);
    note('a', 10); // suppressed: its count is owed
    note('b', 0);
    note('c', 0);
    note('d', 1500); // full: b and c (interval over, nothing owed) go, a stays
    note('a', 1600);
    expect(lines).toEqual(['a:1', 'b:1', 'c:1', 'd:1', 'a:2']);
  });
});
