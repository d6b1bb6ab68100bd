import type { GlucoseReport, ReportTarget } from '../domain/index.js';
import type { ReadingStore } from '../ingest/index.js';
import { ambulatoryGlucoseProfile, type GlucosePoint } from './agp.js';
import {
  CV_TARGET,
  GLUCOSE_RANGES,
  gmiPercent,
  RANGE_TARGETS,
  TIME_IN_RANGE_SOURCE,
  WEAR_TARGET,
} from './glucose-definitions.js';
import { round } from './percentile.js';
import { cgmWear, sensorIntervalMinutes } from './wear.js';

/** What a report reads: the reading store's queries, nothing else. */
export type ReportReadings = Pick<ReadingStore, 'queryRaw' | 'queryDistribution'>;

export interface ReportPatient {
  readonly id: string;
  readonly timeZone: string;
}

const DAY = 86_400_000;

function met(value: number | null, op: ReportTarget['op'], limit: number): boolean | null {
  if (value === null) return null;
  if (op === '<') return value < limit;
  if (op === '<=') return value <= limit;
  if (op === '>') return value > limit;
  return value >= limit;
}

/**
 * The glucose report over the `days` before `now`: time in ranges, mean, SD, GMI and CV aggregated by the
 * store (a year of CGM never passes through JavaScript for them), wear and the AGP from the period's CGM
 * readings. CGM readings when the period has any; a meter-only patient gets the same ranges over the meter's
 * readings (shares of readings, not of time), no wear and no profile.
 */
export async function glucoseReport(store: ReportReadings, patient: ReportPatient, days: number, now: number): Promise<GlucoseReport> {
  const to = now + 1;
  const from = to - days * DAY;
  const query = { patientId: patient.id, type: 'glucose' as const, from, to, field: 'value', ranges: GLUCOSE_RANGES.map((r) => r.range) };
  let source: GlucoseReport['source'] = 'cgm';
  let d = await store.queryDistribution({ ...query, tags: { source: 'cgm' } });
  if (d.count === 0) {
    source = 'meter';
    d = await store.queryDistribution({ ...query, tags: { source: 'meter' } });
    if (d.count === 0) source = 'none';
  }
  const percentOf = (n: number) => (d.count > 0 ? (n / d.count) * 100 : null);
  const ranges = GLUCOSE_RANGES.map((r, i) => {
    const percent = percentOf(d.inRanges[i] ?? 0);
    return { id: r.id, label: r.label, count: d.inRanges[i] ?? 0, percent: percent === null ? null : round(percent) };
  });

  const targets: ReportTarget[] = RANGE_TARGETS.map((t) => {
    const count = ranges.filter((r) => t.bands.includes(r.id)).reduce((s, r) => s + r.count, 0);
    const percent = percentOf(count);
    const value = percent === null ? null : round(percent);
    return { id: t.id, label: t.label, value, unit: '%', op: t.op, limit: t.limit, met: met(value, t.op, t.limit), source: TIME_IN_RANGE_SOURCE };
  });
  const cv = d.mean !== null && d.stddev !== null && d.mean > 0 ? round((d.stddev / d.mean) * 100) : null;
  targets.push({ id: 'cv', label: 'Coefficient of variation', value: cv, unit: '%', ...CV_TARGET, met: met(cv, CV_TARGET.op, CV_TARGET.limit), source: TIME_IN_RANGE_SOURCE });

  let wear: GlucoseReport['wear'] = null;
  let agp: GlucoseReport['agp'] = null;
  if (source === 'cgm') {
    const raw = await store.queryRaw({ patientId: patient.id, type: 'glucose', from, to });
    const points: GlucosePoint[] = [];
    for (const p of raw) {
      const value = p.fields.value;
      if (p.tags.source === 'cgm' && value !== undefined) points.push({ time: p.time, value });
    }
    const intervalMinutes = sensorIntervalMinutes(points.map((p) => p.time));
    const w = cgmWear(d.count, to - from, intervalMinutes);
    wear = { percent: round(w.percent), intervalMinutes, expected: w.expected };
    targets.push({
      id: 'wear',
      label: `CGM wear (share of ${intervalMinutes}-minute readings)`,
      value: wear.percent,
      unit: '%',
      op: WEAR_TARGET.op,
      limit: WEAR_TARGET.limit,
      met: met(wear.percent, WEAR_TARGET.op, WEAR_TARGET.limit),
      source: TIME_IN_RANGE_SOURCE,
    });
    agp = { binMinutes: 60, bins: ambulatoryGlucoseProfile(points, patient.timeZone) };
  }

  return {
    patientId: patient.id,
    timeZone: patient.timeZone,
    from,
    to,
    days,
    source,
    readings: d.count,
    ranges,
    meanMgdl: d.mean === null ? null : round(d.mean),
    sdMgdl: d.stddev === null ? null : round(d.stddev),
    gmiPercent: d.mean === null || source !== 'cgm' ? null : round(gmiPercent(d.mean)),
    targets,
    wear,
    agp,
  };
}
