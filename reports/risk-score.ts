import type { ReadingType, RiskScore } from '../domain/index.js';
import { bandPoints, RISK_BANDS, RISK_BANDS_AGGREGATE, RISK_MAX_AGE_HOURS, SPO2_SCALE_2, TREND_POINTS, type RiskParameter } from './risk-definitions.js';

/** A patient's latest reading of one type (the worklist's latest readings). */
export interface LatestVital {
  readonly type: ReadingType;
  readonly time: number;
  readonly fields: Readonly<Record<string, number>>;
}

/** A live alert of a trend rule (weight gain, home BP average, time below range, activity drop). */
export interface TrendAlert {
  readonly id: number;
  readonly ruleId: string;
  readonly title: string;
}

/** Where each parameter is read from, in the latest readings: pulse from whichever device measured it last. */
const SOURCES: Record<RiskParameter, readonly { type: ReadingType; field: string }[]> = {
  spo2: [{ type: 'spo2', field: 'value' }],
  pulse: [
    { type: 'heart_rate', field: 'value' },
    { type: 'spo2', field: 'pulse' },
    { type: 'blood_pressure', field: 'pulse' },
  ],
  systolic: [{ type: 'blood_pressure', field: 'systolic' }],
  temperature: [{ type: 'temperature', field: 'value' }],
};

function latestOf(latest: ReadonlyMap<ReadingType, LatestVital>, parameter: RiskParameter): { value: number; time: number } | undefined {
  let best: { value: number; time: number } | undefined;
  for (const s of SOURCES[parameter]) {
    const r = latest.get(s.type);
    const value = r?.fields[s.field];
    if (r && value !== undefined && (!best || r.time > best.time)) best = { value, time: r.time };
  }
  return best;
}

function band(vitalsScore: number, parts: RiskScore['parts']): RiskScore['band'] {
  if (vitalsScore >= RISK_BANDS_AGGREGATE.high) return 'high';
  if (vitalsScore >= RISK_BANDS_AGGREGATE.medium) return 'medium';
  return parts.some((p) => p.points === 3) ? 'low_medium' : 'low';
}

/**
 * The risk score: each home vital measured in the last RISK_MAX_AGE_HOURS scored on the NEWS2 chart, their sum,
 * plus TREND_POINTS for each live trend alert. It ranks patients within the worklist's groups and explains
 * itself part by part; it raises nothing and replaces no rule (the alerts do that). `spo2Scale` 2 for a patient
 * with a clinician-set 88-92 % target: scale 1 would score their usual 88-91 % as 3 points and rank them above
 * patients who are deteriorating.
 */
export function riskScore(latest: ReadonlyMap<ReadingType, LatestVital>, trendAlerts: readonly TrendAlert[], now: number, spo2Scale: 1 | 2 = 1): RiskScore {
  const parts: RiskScore['parts'] = [];
  const stale: RiskScore['stale'] = [];
  const oldest = now - RISK_MAX_AGE_HOURS * 3_600_000;
  for (const chart of RISK_BANDS) {
    const bands = chart.parameter === 'spo2' && spo2Scale === 2 ? SPO2_SCALE_2 : chart;
    const v = latestOf(latest, bands.parameter);
    if (!v) continue;
    if (v.time < oldest) stale.push({ parameter: bands.parameter, label: bands.label, measuredAt: v.time });
    else parts.push({ parameter: bands.parameter, label: bands.label, value: v.value, unit: bands.unit, points: bandPoints(bands, v.value), measuredAt: v.time });
  }
  const trends = trendAlerts.map((a) => ({ alertId: a.id, ruleId: a.ruleId, title: a.title, points: TREND_POINTS }));
  const vitalsScore = parts.reduce((s, p) => s + p.points, 0);
  const words = [...parts.map((p) => `${p.label} ${p.value} ${p.unit}: ${p.points}`), ...trends.map((t) => `${t.title}: ${t.points}`)];
  return {
    score: vitalsScore + trends.reduce((s, t) => s + t.points, 0),
    vitalsScore,
    band: band(vitalsScore, parts),
    parts,
    stale,
    trends,
    text: words.length > 0 ? words.join(', ') : `no vitals in the last ${RISK_MAX_AGE_HOURS} h`,
    maxAgeHours: RISK_MAX_AGE_HOURS,
    spo2Scale,
  };
}
