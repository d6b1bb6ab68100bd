import type { AggregatePoint } from '../../ingest/index.js';
import type { Rule } from '../rules/schema.js';
import { TREND_KINDS, type DropRule, type HomeBpRule, type TimeBelowRule, type WeightGainRule } from '../rules/trend-rules.js';
import { ACTIVITY_BUCKET_MS, dropHistoryFrom, evaluateDrop } from './activity-drop.js';
import type { Finding } from './finding.js';
import { evaluateHomeBp, homeBpHistoryFrom } from './home-bp.js';
import type { ObservedReading } from './threshold.js';
import { evaluateTimeBelow, timeBelowHistoryFrom } from './time-below.js';
import { evaluateWeightGain, weightGainHistoryFrom } from './weight-gain.js';

/**
 * The port the engine calls for trend rules: which history a rule needs (`trendQuery`), then its finding on that
 * history (`evaluateTrend`). Both take the patient's IANA time zone: trend rules judge the patient's local days.
 */

export type TrendRule = HomeBpRule | WeightGainRule | TimeBelowRule | DropRule;

/** Raw readings, or the reading store's aggregate buckets of `bucketMs`; `from` inclusive, `to` exclusive. */
export type TrendQuery = { kind: 'raw'; from: number; to: number } | { kind: 'aggregate'; from: number; to: number; bucketMs: number };

export function isTrendRule(rule: Rule): rule is TrendRule {
  return (TREND_KINDS as readonly string[]).includes(rule.kind);
}

/** The history a rule needs to be judged at `at` (time of measurement): up to and including `at`. */
export function trendQuery(rule: TrendRule, at: number, timeZone: string): TrendQuery {
  const to = at + 1;
  switch (rule.kind) {
    case 'home_bp':
      return { kind: 'raw', from: homeBpHistoryFrom(rule, at, timeZone), to };
    case 'weight_gain':
      return { kind: 'raw', from: weightGainHistoryFrom(rule, at, timeZone), to };
    case 'time_below':
      return { kind: 'raw', from: timeBelowHistoryFrom(rule, at), to };
    case 'drop':
      return { kind: 'aggregate', from: dropHistoryFrom(rule, at, timeZone), to, bucketMs: ACTIVITY_BUCKET_MS };
    default:
      return unknownKind(rule);
  }
}

/**
 * A trend rule's finding at `at` on the history `trendQuery` asked for: raw readings, or aggregate buckets for
 * `drop`. Undefined when there is not enough data to judge (change nothing).
 */
export function evaluateTrend(
  rule: TrendRule,
  data: readonly ObservedReading[] | readonly AggregatePoint[],
  at: number,
  timeZone: string,
): Finding | undefined {
  switch (rule.kind) {
    case 'home_bp':
      return evaluateHomeBp(rule, raw(rule, data), at, timeZone);
    case 'weight_gain':
      return evaluateWeightGain(rule, raw(rule, data), at, timeZone);
    case 'time_below':
      return evaluateTimeBelow(rule, raw(rule, data), at);
    case 'drop':
      return evaluateDrop(rule, aggregate(rule, data), at, timeZone);
    default:
      return unknownKind(rule);
  }
}

// Raw readings carry tags, aggregate buckets do not: a mix-up is a wiring bug, so say which query was wrong.
function raw(rule: TrendRule, data: readonly ObservedReading[] | readonly AggregatePoint[]): readonly ObservedReading[] {
  const first = data[0];
  if (first && !('tags' in first)) throw new TypeError(`trend rule ${rule.id} (${rule.kind}) needs raw readings, got aggregate buckets: query with trendQuery()`);
  return data as readonly ObservedReading[];
}

function aggregate(rule: TrendRule, data: readonly ObservedReading[] | readonly AggregatePoint[]): readonly AggregatePoint[] {
  const first = data[0];
  if (first && 'tags' in first) throw new TypeError(`trend rule ${rule.id} (${rule.kind}) needs aggregate buckets, got raw readings: query with trendQuery()`);
  return data as readonly AggregatePoint[];
}

function unknownKind(rule: never): never {
  throw new TypeError(`not a trend rule: ${JSON.stringify(rule)}`);
}
