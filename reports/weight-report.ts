import {
  evaluateWeightGain,
  morningWeights,
  MORNING_FROM,
  MORNING_TO,
  patientRule,
  PROGRAMME_RULE_SETS,
  weightBaseline,
  weightGainHistoryFrom,
  type RuleOverride,
  type WeightGainRule,
} from '../alerts/index.js';
import { addDays, localDate, startOfLocalDay, type WeightDay, type WeightReport } from '../domain/index.js';
import type { ReportPatient, ReportReadings } from './glucose-report.js';
import { round } from './percentile.js';

/** The heart-failure programme's `weight.gain` rule: its windows, baseline and morning are the report's. */
export const WEIGHT_GAIN_RULE = PROGRAMME_RULE_SETS.heart_failure.find((r): r is WeightGainRule => r.id === 'weight.gain')!;

export const WEIGHT_SOURCE =
  'HFSA/AHA heart-failure self-care advice (daily morning weights; > 0.9 kg in 1 day or > 2.3 kg in 1 week); ' +
  'ESC 2021 heart-failure guideline (McDonagh TA et al., Eur Heart J 2021;42(36):3599-3726): > 2 kg in 3 days';

/** The patient's own `weight.gain` (their dry weight and windows, validated and floored as the alert applies them). */
export function weightRuleFor(overrides: readonly { readonly ruleId: string; readonly override: RuleOverride }[]): WeightGainRule & { enabled: boolean } {
  const rule = patientRule(WEIGHT_GAIN_RULE.id, overrides);
  return rule?.kind === 'weight_gain' ? rule : WEIGHT_GAIN_RULE;
}

const BASELINE_LABEL: Record<WeightReport['baseline']['source'], (rule: WeightGainRule) => string> = {
  dry_weight: () => "the care team's dry weight",
  median: (r) => `the median morning weight of the ${r.baselineDays} days before the last ${Math.max(...r.windows.map((w) => w.days))} days`,
  lowest_in_window: (r) => `the lowest morning weight of the last ${Math.max(...r.windows.map((w) => w.days))} days (not yet ${r.baselineDays} days of history)`,
  none: () => 'no baseline yet: no earlier morning weight',
};

/**
 * The heart-failure weight report over the last `days` local days (today included): each day's morning weight
 * (the first from 03:00 to 11:59 local), the baseline the `weight.gain` rule judged it against, and, where the
 * rule's alert held that morning, the window exceeded. Each day is judged by the alert's own evaluation at the
 * end of that local day, so report and alert never disagree. Weight is one reading a day: the raw readings
 * are read (the period and the history the rule looks back on).
 */
export async function weightReport(store: ReportReadings, patient: ReportPatient, days: number, now: number, rule: WeightGainRule & { enabled: boolean } = WEIGHT_GAIN_RULE): Promise<WeightReport> {
  const tz = patient.timeZone;
  const today = localDate(now, tz);
  const firstDate = addDays(today, -(days - 1));
  const from = startOfLocalDay(firstDate, tz);
  const to = now + 1;
  const historyFrom = Math.min(from, weightGainHistoryFrom(rule, startOfLocalDay(firstDate, tz), tz));
  const history = await store.queryRaw({ patientId: patient.id, type: 'weight', from: historyFrom, to });
  const mornings = morningWeights(history, now, tz);

  const daily: WeightDay[] = [];
  for (let date = firstDate; date <= today; date = addDays(date, 1)) {
    const morning = mornings.get(date);
    if (!morning) {
      daily.push({ date, time: null, kg: null, baselineKg: null, aboveBaselineKg: null, alert: null });
      continue;
    }
    const endOfDay = Math.min(now, startOfLocalDay(addDays(date, 1), tz) - 1);
    const finding = evaluateWeightGain(rule, history, endOfDay, tz);
    const kg = morning.fields.value!;
    const baselineKg = finding?.values.baseline ?? weightBaseline(rule, mornings, date).kg;
    const windowDays = finding?.values.days;
    daily.push({
      date,
      time: morning.time,
      kg,
      baselineKg,
      aboveBaselineKg: baselineKg === null ? null : round(kg - baselineKg, 2),
      alert:
        finding && finding.severity !== null
          ? {
              windowDays: windowDays ?? null,
              windowFrom: windowDays === undefined ? date : addDays(date, -windowDays),
              riseKg: finding.values.rise!,
              limitKg: finding.values.limit!,
            }
          : null,
    });
  }

  const baseline = weightBaseline(rule, mornings, today);
  const last = [...daily].reverse().find((d) => d.kg !== null);
  return {
    patientId: patient.id,
    timeZone: tz,
    from,
    to,
    days,
    morning: { fromMinute: MORNING_FROM, toMinute: MORNING_TO },
    dryWeightKg: rule.dryWeightKg ?? null,
    baseline: { ...baseline, label: BASELINE_LABEL[baseline.source](rule) },
    windows: rule.windows.map((w) => ({ days: w.days, riseKg: w.riseKg })),
    ruleEnabled: rule.enabled,
    weighedDays: daily.filter((d) => d.kg !== null).length,
    alertDays: daily.filter((d) => d.alert !== null).length,
    latest: last ? { date: last.date, kg: last.kg!, aboveBaselineKg: last.aboveBaselineKg } : null,
    daily,
    source: WEIGHT_SOURCE,
  };
}
