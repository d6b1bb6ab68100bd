import { describe, expect, it } from 'vitest';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import type { Rule, ThresholdRule } from '../rules/schema.js';
import type { HomeBpRule, TimeBelowRule } from '../rules/trend-rules.js';
import { evaluateHomeBp } from './home-bp.js';
import { evaluateThreshold } from './threshold.js';
import { evaluateTimeBelow } from './time-below.js';

/**
 * Issue 14, item 7: a clinician reads an alert's message in the feed, a webhook, the CLI. Every number in it
 * carries the unit a person reads ("mmHg", "°C", "bpm"), never a UCUM code ("Cel", "mm[Hg]", "/min") or none.
 */
const HUMAN_UNIT: Record<string, string> = { blood_pressure: 'mmHg', glucose: 'mg/dL', weight: 'kg', spo2: '%', heart_rate: 'bpm', temperature: '°C' };
const UCUM_CODES = /\bCel\b|mm\[Hg\]|(?<![A-Za-z])\/min\b|\{steps\}|kg\/m2/;
const T = Date.parse('2026-11-22T20:00:00Z');

const allRules: Rule[] = [...new Map([...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()].map((r) => [r.id, r])).values()];
const thresholdRules = allRules.filter((r): r is ThresholdRule => r.kind === 'threshold');

describe('alert messages carry human units', () => {
  it.each(thresholdRules.flatMap((rule) => rule.tiers.map((tier) => [`${rule.id} ${tier.severity}`, rule, tier] as const)))('%s', (_, rule, tier) => {
    // Each condition of the tier just past its line; the rule's `where` tags (a CGM source) as they come.
    const fields = Object.fromEntries(tier.conditions.map((c) => [c.field, c.op.startsWith('>') ? c.value + 1 : c.value - 1]));
    const finding = evaluateThreshold(rule, { time: T, fields, tags: { ...rule.where }, type: rule.readingType });
    expect(finding?.severity).toBe(tier.severity);
    const unit = HUMAN_UNIT[rule.readingType];
    // Flags (irregular heartbeat, a meter's HI or LO) are 0 or 1 and have no unit.
    const numeric = tier.conditions.some((c) => !['irregular', 'hi', 'lo'].includes(c.field));
    if (unit && numeric) expect(finding!.message).toContain(` ${unit}`);
    expect(finding!.message).not.toMatch(UCUM_CODES);
  });

  it('says a device flag in words, not "irregular 1 >= 1"', () => {
    const irregular = thresholdRules.find((r) => r.id === 'pulse.irregular')!;
    expect(evaluateThreshold(irregular, { time: T, fields: { systolic: 130, diastolic: 80, irregular: 1 }, tags: {}, type: 'blood_pressure' })?.message).toBe(
      'Irregular heartbeat flagged by the BP monitor: irregular heartbeat flagged by the cuff',
    );
  });

  it('names an oximeter or thermometer value by what it is, not "value"', () => {
    const spo2 = thresholdRules.find((r) => r.id === 'spo2.low')!;
    const f = evaluateThreshold(spo2, { time: T, fields: { value: 85 }, tags: {}, type: 'spo2' });
    expect(f?.message).toMatch(/: SpO2 85 <= 92 %|: SpO2 85 < 88 %/);
    const temperature = thresholdRules.find((r) => r.id === 'temperature.abnormal')!;
    expect(evaluateThreshold(temperature, { time: T, fields: { value: 38.4 }, tags: {}, type: 'temperature' })?.message).toBe('Fever or hypothermia: temperature 38.4 >= 38 °C');
  });

  it('the 7-day home BP average in mmHg', () => {
    const rule = allRules.find((r) => r.id === 'bp.home_average') as HomeBpRule;
    const history = Array.from({ length: 8 }, (_, d) => [7, 19].map((h) => ({ time: T - (7 - d) * 86_400_000 - (20 - h) * 3_600_000, fields: { systolic: 150, diastolic: 95 }, tags: {} }))).flat();
    const f = evaluateHomeBp(rule, history, T, 'UTC');
    expect(f?.message).toMatch(/systolic 150 >= 135 mmHg and diastolic 95 >= 85 mmHg|systolic 150 >= 135 mmHg, diastolic 95 >= 85 mmHg/);
  });

  it('CGM time below range in mg/dL', () => {
    const rule = allRules.find((r) => r.id === 'cgm.time_below_range') as TimeBelowRule;
    const history = Array.from({ length: 100 }, (_, i) => ({ time: T - i * 12 * 60_000, fields: { value: i < 10 ? 60 : 120 }, tags: { source: 'cgm' } }));
    expect(evaluateTimeBelow(rule, history, T)?.message).toMatch(/10 % of readings below 70 mg\/dL over 24 h/);
  });
});
