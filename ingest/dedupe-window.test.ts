import { describe, expect, it } from 'vitest';
import { readingKey } from '../domain/index.js';
import type { ReadingIdentity } from '../domain/index.js';
import { DedupeWindow } from './dedupe-window.js';

/** A reading named by its message id (one device, type and time): what most of these tests need. */
const k = (msgId: string): ReadingIdentity => ({ deviceId: 'device-1', type: 'heart_rate', time: 1_764_547_200_000, msgId });

describe('the duplicate-detection window', () => {
  it('remembers a key for at least capacity - 1 later keys below 16 and at most capacity', () => {
    const w = new DedupeWindow<null>(10);
    w.add(k('k'), null);
    for (let i = 0; i < 4; i++) w.add(k(`a${i}`), null);
    // Four later keys (fewer than capacity - 1): remembered.
    expect(w.has(k('k'))).toBe(true);
    for (let i = 0; i < 10; i++) w.add(k(`b${i}`), null);
    // Fourteen later keys (more than capacity): forgotten.
    expect(w.has(k('k'))).toBe(false);
    expect(w.size).toBeLessThanOrEqual(10);
  });

  it('keeps at least the most recent capacity - capacity / 16 keys at every moment, whatever the history', () => {
    const w = new DedupeWindow<number>(1600);
    for (let i = 0; i < 100_000; i++) {
      w.add(k(`key-${i}`), i);
      if (i % 997 === 0) for (let back = 0; back < 1500 && back <= i; back++) expect(w.has(k(`key-${i - back}`))).toBe(true);
      expect(w.size).toBeLessThanOrEqual(1600);
    }
    // The boundary: never more than capacity, so the key 1,600 keys back has gone with its generation.
    expect(w.has(k(`key-${100_000 - 1 - 1600}`))).toBe(false);
  });

  it('never holds a generation large enough to rehash for long: at most capacity / 16 keys each', () => {
    const w = new DedupeWindow<null>(200_000);
    for (let i = 0; i < 12_500; i++) w.add(k(`k${i}`), null);
    // The first generation is full and a new one began: the earliest key is still found, from the older one.
    w.add(k('next'), null);
    expect(w.has(k('k0'))).toBe(true);
    expect(w.size).toBe(12_501);
  });

  it('finds values in either generation and deletes from either', () => {
    const w = new DedupeWindow<string | null>(4);
    w.add(k('x'), null);
    w.add(k('y'), 'pending');
    w.add(k('z'), 'pending'); // x and y are now the previous generation
    expect(w.get(k('x'))).toBeNull();
    expect(w.get(k('y'))).toBe('pending');
    expect(w.get(k('never'))).toBeUndefined();
    w.delete(k('y'));
    expect(w.has(k('y'))).toBe(false);
    expect(w.get(k('z'))).toBe('pending');
  });

  it('keeps the most recent capacity - ceil(capacity / 16) keys for capacities 16 does not divide, never more than capacity', () => {
    for (let capacity = 2; capacity <= 70; capacity++) {
      const w = new DedupeWindow<number>(capacity);
      const kept = capacity - Math.ceil(capacity / 16);
      for (let i = 0; i < 5 * capacity; i++) {
        w.add(k(`key-${i}`), i);
        for (let back = 0; back < kept && back <= i; back++) expect(w.has(k(`key-${i - back}`)), `capacity ${capacity}: key ${i - back} after ${i}`).toBe(true);
        expect(w.size).toBeLessThanOrEqual(capacity);
      }
    }
  });

  it('refuses a capacity that could not hold a key or is not a number of keys, rather than failing on the first reading', () => {
    for (const capacity of [Number.NaN, 0, 1, -5, 2.5, Number.POSITIVE_INFINITY]) expect(() => new DedupeWindow(capacity), String(capacity)).toThrow(RangeError);
    expect(new DedupeWindow(2).size).toBe(0);
  });

  it('matches a reading exactly as its key string does: every part counts, and no message id is an empty one', () => {
    const w = new DedupeWindow<string>(1000);
    const base: ReadingIdentity = { deviceId: 'cuff-7', type: 'blood_pressure', time: 1_764_547_200_123, msgId: 'm-1' };
    w.add(base, 'first');
    expect(w.get({ ...base })).toBe('first');
    const others: ReadingIdentity[] = [
      { ...base, deviceId: 'cuff-8' },
      { ...base, type: 'heart_rate' },
      { ...base, time: base.time + 1 },
      // 2^32 ms apart: the same low 32 bits of the time.
      { ...base, time: base.time + 4_294_967_296 },
      { ...base, msgId: 'm-2' },
      { ...base, msgId: undefined },
    ];
    for (const other of others) expect(w.get(other), readingKey(other.deviceId, other.type, other.time, other.msgId)).toBeUndefined();
    w.add({ ...base, msgId: undefined }, 'no id');
    expect(w.get({ ...base, msgId: '' })).toBe('no id');
  });

  it('agrees with a plain record of what was added and deleted, over many devices sharing the same times', () => {
    // A seeded generator: the same sequence every run.
    let seed = 42;
    const random = () => ((seed = Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 4_294_967_296;
    const capacity = 640;
    const kept = capacity - Math.ceil(capacity / 16);
    const w = new DedupeWindow<number>(capacity);
    const identity = (n: number): ReadingIdentity => ({ deviceId: `hub-${n % 7}`, type: n % 3 === 0 ? 'glucose' : 'weight', time: 1_764_547_200_000 + Math.floor(n / 21) * 60_000, msgId: n % 5 === 0 ? undefined : `m${n}` });
    const added: number[] = [];
    const deleted = new Set<number>();
    for (let n = 0; n < 20_000; n++) {
      w.add(identity(n), n);
      added.push(n);
      if (random() < 0.1) {
        const victim = added[added.length - 1 - Math.floor(random() * Math.min(added.length, kept))]!;
        w.delete(identity(victim));
        deleted.add(victim);
      }
      if (n % 251 === 0) {
        for (const m of added.slice(-kept)) expect(w.get(identity(m)), `entry ${m} after ${n}`).toBe(deleted.has(m) ? undefined : m);
        expect(w.get(identity(n + 1))).toBeUndefined();
        expect(w.size).toBeLessThanOrEqual(capacity);
      }
    }
  });

  it('holds the most recent capacity - ceil(capacity / 16) keys when each was deleted and added again (a failed commit, then the resend)', () => {
    const capacity = 320;
    const kept = capacity - Math.ceil(capacity / 16);
    const w = new DedupeWindow<number>(capacity);
    const identity = (n: number): ReadingIdentity => ({ deviceId: 'cuff-1', type: 'blood_pressure', time: 1_764_547_200_000 + n * 1000, msgId: undefined });
    for (let n = 0; n < 1000; n++) {
      w.add(identity(n), n);
      w.delete(identity(n));
      w.add(identity(n), n);
      for (let back = 0; back < kept && back <= n; back++) expect(w.get(identity(n - back)), `entry ${n - back} after ${n}`).toBe(n - back);
      expect(w.size).toBeLessThanOrEqual(capacity);
    }
  });

  it('spreads message ids crafted to share one unseeded FNV-1a hash: an add walks a few slots, not all of them', () => {
    // A Joux multicollision: 4-character blocks, each pair of which leaves FNV-1a (from its standard offset basis)
    // in the same state, so that any choice of one block of each pair gives the same hash: 2^14 ids in all.
    const fnv = (from: number, text: string) => {
      let h = from;
      for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
      return h >>> 0;
    };
    // Each block: the first two 4-letter strings that take the state to one value (a birthday search).
    const letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
    const block = (n: number) => letters[n % 36]! + letters[Math.floor(n / 36) % 36]! + letters[Math.floor(n / 1296) % 36]! + letters[Math.floor(n / 46_656) % 36]!;
    let state = 0x811c9dc5;
    let ids = [''];
    for (let b = 0; b < 14; b++) {
      const seen = new Map<number, number>();
      for (let n = 0; ; n++) {
        const h = fnv(state, block(n));
        const twin = seen.get(h);
        if (twin !== undefined) {
          ids = ids.flatMap((id) => [id + block(twin), id + block(n)]);
          state = h;
          break;
        }
        seen.set(h, n);
      }
    }
    const crafted = ids.slice(0, 12_400);
    expect(new Set(crafted.map((id) => fnv(0x811c9dc5, id))).size).toBe(1);
    const w = new DedupeWindow<number>(200_000);
    const identity = (msgId: string): ReadingIdentity => ({ deviceId: 'hub-1', type: 'glucose', time: 1_764_547_200_000, msgId });
    crafted.forEach((id, n) => w.add(identity(id), n));
    // With one hash for all, the last add would walk past the 12,399 before it.
    expect(w.longestProbe).toBeLessThan(100);
    crafted.forEach((id, n) => expect(w.get(identity(id))).toBe(n));
  });
});
