import { afterEach, describe, expect, it, vi } from 'vitest';
import { LogLimiter } from './log-limiter.js';

/** A limiter on a clock the test sets, and the lines it wrote as `key:count`. */
function limiterAt(intervalMs: number, maxKeys?: number) {
  const clock = { now: 0 };
  const limiter = new LogLimiter(intervalMs, maxKeys, () => clock.now);
  const lines: string[] = [];
  const note = (key: string, now: number, label = key) => {
    clock.now = now;
    limiter.note(key, (n) => lines.push(`${label}:${n}`));
  };
  const flush = (now: number) => {
    clock.now = now;
    limiter.flush();
  };
  return { limiter, lines, note, flush };
}

describe('log limiter', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes one line per key per interval, counting the events it stood for', () => {
    const { limiter, lines, note } = limiterAt(1000);
    for (let i = 0; i < 5; i++) note('k', i * 100);
    note('k', 1000);
    expect(lines).toEqual(['k:1', 'k:5']);
    limiter.close();
  });

  it('ends an interval with events folded by a line counting them, the last one\'s, without another event', () => {
    const { limiter, lines, note, flush } = limiterAt(1000);
    note('k', 0, 'first');
    note('k', 100, 'second');
    note('k', 200, 'third');
    flush(999);
    expect(lines).toEqual(['first:1']);
    flush(1000);
    expect(lines).toEqual(['first:1', 'third:2']);
    // That line opens the next interval: an event within it is folded, not written.
    note('k', 1500, 'fourth');
    flush(1999);
    expect(lines).toEqual(['first:1', 'third:2']);
    flush(2000);
    expect(lines).toEqual(['first:1', 'third:2', 'fourth:1']);
    // An interval that ends with nothing folded writes nothing, and its key is forgotten.
    flush(3000);
    expect(lines).toEqual(['first:1', 'third:2', 'fourth:1']);
    expect(limiter.size).toBe(0);
    limiter.close();
  });

  it('under a steady stream: lines an interval apart at least, and every event counted once', () => {
    const { limiter, lines, note, flush } = limiterAt(1000);
    const at: number[] = [];
    const counted = () => lines.reduce((sum, line) => sum + Number(line.split(':')[1]), 0);
    let before = 0;
    for (let t = 0; t < 10_000; t += 50) {
      // The flushes come a tenth of an interval apart, as the limiter's timer does them.
      if (t % 100 === 0) flush(t);
      note('k', t);
      if (lines.length > before) at.push(t);
      before = lines.length;
    }
    flush(20_000);
    expect(counted()).toBe(200);
    expect(at.slice(1).map((t, i) => t - at[i]!).every((gap) => gap >= 1000)).toBe(true);
    limiter.close();
  });

  it('stays bounded: ended intervals go first, their folded events written', () => {
    const { limiter, lines, note } = limiterAt(1000, 3);
    note('a', 0);
    note('a', 10); // folded: its count is owed
    note('b', 0);
    note('c', 0);
    note('d', 1500); // full: a's interval is over (its line written, a new one opened), b and c go
    note('a', 1600); // within a's new interval
    expect(lines).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'd:1']);
    expect(limiter.size).toBe(2);
    limiter.close();
  });

  it('stays bounded when every key is within its interval: all go, each writing what it had folded first', () => {
    const { limiter, lines, note } = limiterAt(1000, 3);
    note('a', 0);
    note('a', 10);
    note('b', 0);
    note('c', 0);
    note('d', 20); // full, nothing ended: a writes its folded event, all go
    expect(lines).toEqual(['a:1', 'b:1', 'c:1', 'a:1', 'd:1']);
    expect(limiter.size).toBe(1);
    limiter.close();
  });

  it('writes the final lines on its own timer, a tenth of an interval late at most, and stops it when no key is held', () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new LogLimiter(1000);
    const lines: string[] = [];
    expect(vi.getTimerCount()).toBe(0);
    limiter.note('k', (n) => lines.push(`k:${n}`));
    vi.advanceTimersByTime(500);
    limiter.note('k', (n) => lines.push(`k:${n}`));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(499);
    expect(lines).toEqual(['k:1']);
    vi.advanceTimersByTime(100);
    expect(lines).toEqual(['k:1', 'k:1']);
    // The key is forgotten an interval after its last line, and the timer with it.
    vi.advanceTimersByTime(1100);
    expect(limiter.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    limiter.close();
  });

  it('on close, writes what each key had folded at once and stops its timer for good', () => {
    vi.useFakeTimers({ now: 0 });
    const limiter = new LogLimiter(1000);
    const lines: string[] = [];
    limiter.note('a', (n) => lines.push(`a:${n}`));
    limiter.note('a', (n) => lines.push(`a:${n}`));
    limiter.note('a', (n) => lines.push(`a:${n}`));
    limiter.note('b', (n) => lines.push(`b:${n}`));
    limiter.close();
    expect(lines).toEqual(['a:1', 'b:1', 'a:2']);
    expect(vi.getTimerCount()).toBe(0);
    // A late event (shutdown under way) writes its line but starts no timer again.
    limiter.note('c', (n) => lines.push(`c:${n}`));
    expect(lines).toEqual(['a:1', 'b:1', 'a:2', 'c:1']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
