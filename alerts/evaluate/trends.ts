import type { AggregatePoint } from '../../ingest/index.js';
import type { AverageRule, ChangeRule, DropRule, Rule, TimeBelowRule } from '../rules/schema.js';
import type { Finding } from './finding.js';
import { evaluateAverage, evaluateChange, evaluateDrop, evaluateTimeBelow } from './history.js';
import type { ObservedReading } from './threshold.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export type TrendRule = AverageRule | ChangeRule | TimeBelowRule | DropRule;

export function isTrendRule(rule: Rule): rule is TrendRule {
  return rule.kind === 'average' || rule.kind === 'change' || rule.kind === 'time_below' || rule.kind === 'drop';
}

export type TrendQuery = { kind: 'raw'; from: number; to: number } | { kind: 'aggregate'; from: number; to: number; bucketMs: number };

/** The history a trend rule needs, ending at `at`. */
export function trendQuery(rule: TrendRule, at: number, _timeZone: string): TrendQuery {
  switch (rule.kind) {
    case 'average':
      return { kind: 'raw', from: at - rule.windowDays * DAY, to: at + 1 };
    case 'change':
      return { kind: 'raw', from: at - Math.max(...rule.windows.map((w) => w.hours)) * HOUR - 12 * HOUR, to: at + 1 };
    case 'time_below':
      return { kind: 'raw', from: at - rule.windowHours * HOUR, to: at + 1 };
    case 'drop': {
      const today = Math.floor(at / DAY) * DAY;
      return { kind: 'aggregate', from: today - (rule.recentDays + rule.baselineDays) * DAY, to: today, bucketMs: DAY };
    }
  }
}

export function evaluateTrend(rule: TrendRule, data: readonly ObservedReading[] | readonly AggregatePoint[], at: number, _timeZone: string): Finding | undefined {
  switch (rule.kind) {
    case 'average':
      return evaluateAverage(rule, data as readonly ObservedReading[], at);
    case 'change':
      return evaluateChange(rule, data as readonly ObservedReading[], at);
    case 'time_below':
      return evaluateTimeBelow(rule, data as readonly ObservedReading[], at);
    case 'drop':
      return evaluateDrop(rule, new Map((data as readonly AggregatePoint[]).map((b) => [b.time, b.fields[rule.field]?.sum ?? 0])), at);
  }
}
