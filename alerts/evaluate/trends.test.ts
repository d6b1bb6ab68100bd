import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import { evaluateTrend, isTrendRule, trendQuery, type TrendRule } from './trends.js';

const ALL = [...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()];
const trend = (id: string) => ALL.find((r) => r.id === id) as TrendRule;
const iso = (t: number) => new Date(t).toISOString();

describe('trend rule port', () => {
  it('knows the trend rules of the catalogue', () => {
    expect(ALL.filter(isTrendRule).map((r) => r.id).sort()).toEqual(['bp.home_average', 'cgm.time_below_range', 'steps.drop', 'weight.gain']);
  });

  // Europe/London, two days after the October clock change: the local days reach back into BST.
  const AT = Date.parse('2026-10-27T20:00:00Z');
  it.each([
    ['bp.home_average', 'raw', '2026-10-13T23:00:00.000Z', undefined], // the 7-day window and 7 days before it
    ['weight.gain', 'raw', '2026-10-05T23:00:00.000Z', undefined], // today, 7 days, 14 baseline days
    ['cgm.time_below_range', 'raw', '2026-10-26T20:00:00.000Z', undefined], // a rolling 24 h
    ['steps.drop', 'aggregate', '2026-09-21T23:00:00.000Z', 900_000], // 28 + 7 whole local days
  ] as const)('%s asks for %s history from %s', (id, kind, from, bucketMs) => {
    const q = trendQuery(trend(id), AT, 'Europe/London');
    expect({ kind: q.kind, from: iso(q.from), to: q.to, bucketMs: 'bucketMs' in q ? q.bucketMs : undefined }).toEqual({ kind, from, to: AT + 1, bucketMs });
  });

  it('says so when the engine passes the wrong kind of history', () => {
    const bucket = { time: 0, fields: { count: { mean: 1, min: 1, max: 1, sum: 1, count: 1 } } };
    const reading = { time: 0, fields: { value: 80 }, tags: {} };
    expect(() => evaluateTrend(trend('weight.gain'), [bucket], AT, 'UTC')).toThrow(/weight.gain \(weight_gain\) needs raw readings/);
    expect(() => evaluateTrend(trend('steps.drop'), [reading], AT, 'UTC')).toThrow(/steps.drop \(drop\) needs aggregate buckets/);
    expect(evaluateTrend(trend('steps.drop'), [], AT, 'UTC')).toBeUndefined();
    expect(() => trendQuery(trend('steps.drop'), AT, 'Mars/Olympus_Mons')).toThrow(/unknown time zone/);
  });
});
