import { describe, expect, it } from 'vitest';
import { Admission } from './admission.js';

describe('admission (global back-pressure)', () => {
  it('admits up to the bound, then in arrival order as earlier work is released', async () => {
    const gate = new Admission(100);
    const order: string[] = [];
    const a = await gate.enter(60);
    const b = await gate.enter(40);
    expect(gate.inFlightBytes).toBe(100);
    const c = gate.enter(30).then((release) => (order.push('c'), release));
    const d = gate.enter(10).then((release) => (order.push('d'), release));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(order).toEqual([]);
    expect(gate.waiting).toBe(2);
    a();
    const [releaseC, releaseD] = await Promise.all([c, d]);
    expect(order).toEqual(['c', 'd']);
    expect(gate.inFlightBytes).toBe(80);
    b();
    releaseC();
    releaseD();
    releaseD();
    expect(gate.inFlightBytes).toBe(0);
  });

  it('lets a message larger than the bound through when nothing else is in flight', async () => {
    const gate = new Admission(100);
    const big = await gate.enter(500);
    let small = false;
    void gate.enter(1).then(() => (small = true));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(small).toBe(false);
    big();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(small).toBe(true);
  });

  it('takes bytes at once without a promise while there is room, and never ahead of a publish already waiting', async () => {
    const gate = new Admission(100);
    expect(gate.tryEnter(500)).toBe(true); // alone, an oversized message passes
    expect(gate.tryEnter(1)).toBe(false);
    let waited = false;
    const waiting = gate.wait(10).then(() => (waited = true));
    gate.release(500);
    await waiting;
    expect(waited).toBe(true);
    expect(gate.tryEnter(90)).toBe(true);
    // Full again: the next publish waits, and a small one after it may not overtake it.
    const big = gate.wait(50);
    expect(gate.tryEnter(0)).toBe(false);
    gate.release(90);
    await big;
    expect(gate.inFlightBytes).toBe(60);
    gate.release(10);
    gate.release(50);
    expect(gate.inFlightBytes).toBe(0);
  });
});
