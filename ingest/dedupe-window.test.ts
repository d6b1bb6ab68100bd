import { describe, expect, it } from 'vitest';
import { DedupeWindow } from './dedupe-window.js';

describe('the duplicate-detection window', () => {
  it('remembers a key for at least capacity - 1 later keys below 16 and at most capacity', () => {
    const w = new DedupeWindow<null>(10);
    w.add('k', null);
    for (let i = 0; i < 4; i++) w.add(`a${i}`, null);
    // Four later keys (fewer than capacity - 1): remembered.
    expect(w.has('k')).toBe(true);
    for (let i = 0; i < 10; i++) w.add(`b${i}`, null);
    // Fourteen later keys (more than capacity): forgotten.
    expect(w.has('k')).toBe(false);
    expect(w.size).toBeLessThanOrEqual(10);
  });

  it('keeps at least the most recent capacity - capacity / 16 keys at every moment, whatever the history', () => {
    const w = new DedupeWindow<number>(1600);
    for (let i = 0; i < 100_000; i++) {
      w.add(`key-${i}`, i);
      if (i % 997 === 0) for (let back = 0; back < 1500 && back <= i; back++) expect(w.has(`key-${i - back}`)).toBe(true);
      expect(w.size).toBeLessThanOrEqual(1600);
    }
    // The boundary: never more than capacity, so the key 1,600 keys back has gone with its generation.
    expect(w.has(`key-${100_000 - 1 - 1600}`)).toBe(false);
  });

  it('never holds a generation large enough to rehash for long: at most capacity / 16 keys each', () => {
    const w = new DedupeWindow<null>(200_000);
    for (let i = 0; i < 12_500; i++) w.add(`k${i}`, null);
    // The first generation is full and a new one began: the earliest key is still found, from the older one.
    w.add('next', null);
    expect(w.has('k0')).toBe(true);
    expect(w.size).toBe(12_501);
  });

  it('finds values in either generation and deletes from either', () => {
    const w = new DedupeWindow<string | null>(4);
    w.add('x', null);
    w.add('y', 'pending');
    w.add('z', 'pending'); // x and y are now the previous generation
    expect(w.get('x')).toBeNull();
    expect(w.get('y')).toBe('pending');
    expect(w.get('never')).toBeUndefined();
    w.delete('y');
    expect(w.has('y')).toBe(false);
    expect(w.get('z')).toBe('pending');
  });

  it('keeps the most recent capacity - ceil(capacity / 16) keys for capacities 16 does not divide, never more than capacity', () => {
    for (let capacity = 2; capacity <= 70; capacity++) {
      const w = new DedupeWindow<number>(capacity);
      const kept = capacity - Math.ceil(capacity / 16);
      for (let i = 0; i < 5 * capacity; i++) {
        w.add(`key-${i}`, i);
        for (let back = 0; back < kept && back <= i; back++) expect(w.has(`key-${i - back}`), `capacity ${capacity}: key ${i - back} after ${i}`).toBe(true);
        expect(w.size).toBeLessThanOrEqual(capacity);
      }
    }
  });

  it('refuses a capacity that could not hold a key or is not a number of keys, rather than failing on the first reading', () => {
    for (const capacity of [Number.NaN, 0, 1, -5, 2.5, Number.POSITIVE_INFINITY]) expect(() => new DedupeWindow(capacity), String(capacity)).toThrow(RangeError);
    expect(new DedupeWindow(2).size).toBe(0);
  });
});
