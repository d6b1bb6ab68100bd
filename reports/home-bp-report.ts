import { evaluateHomeBp, homeBpHistoryFrom, patientRule, PROGRAMME_RULE_SETS, type HomeBpRule, type RuleOverride } from '../alerts/index.js';
import { addDays, localDate, startOfLocalDay, type HomeBpReport } from '../domain/index.js';
import type { RawPoint } from '../ingest/index.js';
import type { ReportPatient, ReportReadings } from './glucose-report.js';
import { round } from './percentile.js';

/**
 * The home BP report uses the thresholds of Vigil's own `bp.home_average` rule (docs/clinical-reference.md):
 * its line (135/85, ESH 2021 and AHA 2019: the home equivalent of office 140/90) and its clearing margin
 * (5 mmHg: 130/80, the home equivalent of the office stage 1 line), so the report and the alert never disagree.
 */
export const HOME_BP_RULE = PROGRAMME_RULE_SETS.hypertension.find((r): r is HomeBpRule => r.id === 'bp.home_average')!;

export const HOME_BP_SOURCE =
  'ESH 2021 practice guidelines for office and out-of-office BP measurement (Stergiou GS et al., J Hypertens 2021;39(7):1293-1302); ' +
  'AHA 2019 scientific statement on BP measurement (Muntner P et al., Hypertension 2019;73:e35-e66)';

/**
 * The patient's own `bp.home_average`: the care team's override in force (a tighter line for a patient with
 * diabetes or kidney disease, a longer window), validated and floored as the alert applies it; the default
 * without one.
 */
export function homeBpRuleFor(overrides: readonly { readonly ruleId: string; readonly override: RuleOverride }[]): HomeBpRule {
  const rule = patientRule(HOME_BP_RULE.id, overrides);
  return rule?.kind === 'home_bp' && statesLine(rule) ? rule : HOME_BP_RULE;
}

/**
 * The report states its line as "at or above S/D mmHg": a rule it can read so has one `>=` condition on each of
 * systolic and diastolic (every shipped rule and preset). Any other shape keeps the default line.
 */
function statesLine(rule: HomeBpRule): boolean {
  return ['systolic', 'diastolic'].every((f) => rule.conditions.filter((c) => c.field === f).length === 1 && rule.conditions.some((c) => c.field === f && c.op === '>='));
}

/** The rule's line by field: { systolic: 135, diastolic: 85 }. */
export function homeBpLine(rule: HomeBpRule = HOME_BP_RULE): { systolic: number; diastolic: number } {
  const at = (field: string) => rule.conditions.find((c) => c.field === field)!.value;
  return { systolic: at('systolic'), diastolic: at('diastolic') };
}

type Category = Pick<HomeBpReport, 'category' | 'categoryLabel'>;

/** The protocol average's category: at or above the line, within the clearing margin below it, or below that. */
export function homeBpCategory(systolic: number | null, diastolic: number | null, enoughDays: boolean, rule: HomeBpRule = HOME_BP_RULE): Category {
  const line = homeBpLine(rule);
  const lower = { systolic: line.systolic - rule.clearMargin, diastolic: line.diastolic - rule.clearMargin };
  if (!enoughDays || systolic === null || diastolic === null) {
    return { category: 'unknown', categoryLabel: `fewer than ${rule.minDays} days of readings after day 1: no average yet` };
  }
  if (systolic >= line.systolic || diastolic >= line.diastolic) {
    return { category: 'hypertension', categoryLabel: `home hypertension: average at or above ${line.systolic}/${line.diastolic} mmHg` };
  }
  if (systolic >= lower.systolic || diastolic >= lower.diastolic) {
    return { category: 'high_normal', categoryLabel: `${lower.systolic}-${line.systolic - 1} / ${lower.diastolic}-${line.diastolic - 1} mmHg: below the home line, at or above ${lower.systolic}/${lower.diastolic}` };
  }
  return { category: 'below', categoryLabel: `below ${lower.systolic}/${lower.diastolic} mmHg` };
}

function meanOf(points: readonly RawPoint[], field: string): number | null {
  const values = points.map((p) => p.fields[field]).filter((v): v is number => v !== undefined);
  return values.length === 0 ? null : round(values.reduce((s, v) => s + v, 0) / values.length);
}

/**
 * The home BP report over the last `days` local days (today included): the protocol average of the last
 * `windowDays` (7) days as the `bp.home_average` alert computes it (session means, morning before noon and
 * evening from noon, day 1 of monitoring discarded), its category, the share of readings at or above the line,
 * and the mean of each week's readings. Home BP is a few readings a day: the raw readings are read.
 */
export async function homeBpReport(store: ReportReadings, patient: ReportPatient, days: number, now: number, rule: HomeBpRule = HOME_BP_RULE): Promise<HomeBpReport> {
  const tz = patient.timeZone;
  const today = localDate(now, tz);
  const firstDate = addDays(today, -(days - 1));
  const from = startOfLocalDay(firstDate, tz);
  const to = now + 1;
  const historyFrom = Math.min(from, homeBpHistoryFrom(rule, now, tz));
  const history = await store.queryRaw({ patientId: patient.id, type: 'blood_pressure', from: historyFrom, to });

  // minDays 1: the figures even below the minimum, which `enoughDays` then marks.
  const finding = evaluateHomeBp({ ...rule, minDays: 1 }, history, now, tz);
  const counted = finding?.values.days ?? 0;
  const enoughDays = counted >= rule.minDays;
  const systolic = finding?.values.systolic ?? null;
  const diastolic = finding?.values.diastolic ?? null;
  const windowStart = addDays(today, -(rule.windowDays - 1));
  const dayOne = history.length > 0 ? localDate(history[0]!.time, tz) : null;

  const inPeriod = history.filter((p) => p.time >= from);
  const line = homeBpLine(rule);
  const above = inPeriod.filter((p) => (p.fields.systolic ?? 0) >= line.systolic || (p.fields.diastolic ?? 0) >= line.diastolic).length;

  const weeks: HomeBpReport['weeks'] = [];
  for (let start = firstDate; start <= today; start = addDays(start, 7)) {
    const weekFrom = startOfLocalDay(start, tz);
    const weekTo = startOfLocalDay(addDays(start, 7), tz);
    const points = inPeriod.filter((p) => p.time >= weekFrom && p.time < weekTo);
    weeks.push({ from: weekFrom, readings: points.length, systolic: meanOf(points, 'systolic'), diastolic: meanOf(points, 'diastolic') });
  }

  return {
    patientId: patient.id,
    timeZone: tz,
    from,
    to,
    days,
    readings: inPeriod.length,
    protocol: {
      days: counted,
      sessions: finding?.values.sessions ?? 0,
      systolic,
      diastolic,
      enoughDays,
      discardedDay: dayOne !== null && dayOne >= windowStart ? dayOne : null,
    },
    ...homeBpCategory(systolic, diastolic, enoughDays, rule),
    aboveTarget: { count: above, percent: inPeriod.length > 0 ? round((above / inPeriod.length) * 100) : null, ...line },
    weeks,
  };
}
