import { describe, expect, it } from 'vitest';
import { MAX_JSON_DEPTH, nestedDeeperThan } from './json-depth.js';

/** `levels` arrays one inside the other, built as text: JSON.stringify could not write the deep ones. */
const nested = (levels: number) => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as unknown;

describe('nestedDeeperThan', () => {
  it('counts arrays and objects as levels, scalars as none', () => {
    expect(nestedDeeperThan(5, 0)).toBe(false);
    expect(nestedDeeperThan(null, 0)).toBe(false);
    expect(nestedDeeperThan([], 0)).toBe(true);
    expect(nestedDeeperThan([{ a: [1] }], 3)).toBe(false);
    expect(nestedDeeperThan([{ a: [1] }], 2)).toBe(true);
    expect(nestedDeeperThan({ a: 1, b: { c: { d: 'x' } } }, 2)).toBe(true);
  });

  it('takes a reading at the limit and refuses one level more, and checks 20,000 levels without overflowing', () => {
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
    expect(nestedDeeperThan([{ type: 'heart_rate', value: nested(20_000) }])).toBe(true);
  });
});
