import { describe, expect, it } from 'vitest';
import type { Condition, Tier } from '../rules/schema.js';
import { holds, tierHolds } from './conditions.js';

describe('tierHolds', () => {
  it('answers as every/some of its conditions, for every combination of fields present, absent and shifted', () => {
    const conditions: Condition[] = [
      { field: 'systolic', op: '>=', value: 180 },
      { field: 'diastolic', op: '>', value: 120 },
      { field: 'value', op: '<', value: 54 },
    ];
    const values = [undefined, 50, 54, 121, 180, 200, Number.NaN];
    let checked = 0;
    for (const match of ['any', 'all'] as const) {
      for (let n = 1; n <= conditions.length; n++) {
        const tier: Tier = { severity: 'warning', match, conditions: conditions.slice(0, n) };
        for (const systolic of values) {
          for (const diastolic of values) {
            for (const value of [undefined, 40, 60]) {
              for (const shift of [0, 10]) {
                const fields: Record<string, number> = {};
                if (systolic !== undefined) fields.systolic = systolic;
                if (diastolic !== undefined) fields.diastolic = diastolic;
                if (value !== undefined) fields.value = value;
                const results = tier.conditions.map((c) => holds(c, fields[c.field], shift));
                expect(tierHolds(tier, fields, shift)).toBe(match === 'all' ? results.every(Boolean) : results.some(Boolean));
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBe(2 * 3 * values.length * values.length * 3 * 2);
  });
});
