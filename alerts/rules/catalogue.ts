import { ruleSchema, type Programme, type Rule, type RuleInput } from './schema.js';

/**
 * The default rules and their values, each with its published source (docs/clinical-reference.md). Vigil supports clinical
 * decisions; it does not make them: every value can be overridden per programme and per patient.
 */
const DEFAULT_RULES: RuleInput[] = [
  {
    id: 'bp.crisis',
    kind: 'threshold',
    readingType: 'blood_pressure',
    title: 'Severe hypertension / hypertensive crisis',
    source: 'ACC/AHA 2017 guideline (AHA 2025 update): > 180 and/or > 120 mmHg, notify immediately',
    tiers: [
      {
        severity: 'critical',
        match: 'any',
        conditions: [
          { field: 'systolic', op: '>', value: 180 },
          { field: 'diastolic', op: '>', value: 120 },
        ],
      },
    ],
    clearMargin: 10,
    resolveAfterMinutes: 60,
  },
  {
    id: 'bp.hypotension',
    kind: 'threshold',
    readingType: 'blood_pressure',
    title: 'Hypotension',
    source: 'ACC/AHA 2017 guideline: systolic < 90 or diastolic < 60 mmHg',
    tiers: [
      {
        severity: 'warning',
        match: 'any',
        conditions: [
          { field: 'systolic', op: '<', value: 90 },
          { field: 'diastolic', op: '<', value: 60 },
        ],
      },
    ],
    clearMargin: 5,
    resolveAfterMinutes: 60,
  },
  {
    id: 'glucose.low',
    kind: 'threshold',
    readingType: 'glucose',
    title: 'Hypoglycaemia',
    source: 'ADA Standards of Care 2025, section 6: level 2 < 54 mg/dL (critical), level 1 54-69 mg/dL; a meter LO reading is below its range (critical)',
    tiers: [
      {
        severity: 'critical',
        match: 'any',
        conditions: [
          { field: 'value', op: '<', value: 54 },
          { field: 'lo', op: '>=', value: 1 },
        ],
      },
      { severity: 'warning', match: 'any', conditions: [{ field: 'value', op: '<', value: 70 }] },
    ],
    clearMargin: 10,
    resolveAfterMinutes: 30,
  },
  {
    id: 'glucose.high',
    kind: 'threshold',
    readingType: 'glucose',
    title: 'Hyperglycaemia',
    source:
      'ADA Standards of Care 2025, section 6: level 2 hyperglycaemia > 250 mg/dL (warning); ADA consensus on hyperglycaemic crises (Umpierrez et al., Diabetes Care 2024): hyperosmolar state at >= 600 mg/dL, and a meter HI reading is above its range (critical)',
    tiers: [
      {
        severity: 'critical',
        match: 'any',
        conditions: [
          { field: 'value', op: '>=', value: 600 },
          { field: 'hi', op: '>=', value: 1 },
        ],
      },
      { severity: 'warning', match: 'any', conditions: [{ field: 'value', op: '>', value: 250 }] },
    ],
    clearMargin: 20,
    resolveAfterMinutes: 120,
  },
  {
    id: 'spo2.low',
    kind: 'threshold',
    readingType: 'spo2',
    title: 'Low oxygen saturation',
    source:
      'NHS England COVID Oximetry @home (2020): SpO2 <= 92 % at rest needs urgent assessment (warning); NEWS2 (RCP 2017) scale 1 scores <= 91 as 3; BTS 2017 oxygen guideline: no target range for any patient goes below 88 % (critical below it)',
    tiers: [
      { severity: 'critical', match: 'any', conditions: [{ field: 'value', op: '<', value: 88 }] },
      { severity: 'warning', match: 'any', conditions: [{ field: 'value', op: '<=', value: 92 }] },
    ],
    clearMargin: 1,
    resolveAfterMinutes: 60,
  },
  {
    id: 'pulse.extreme',
    kind: 'threshold',
    readingType: 'heart_rate',
    title: 'Pulse out of range',
    source: 'NEWS2 (RCP 2017): pulse <= 40 or >= 131 /min scores 3; read from heart-rate readings and from the pulse a cuff or an oximeter reports',
    alsoReads: { blood_pressure: { value: 'pulse' }, spo2: { value: 'pulse' } },
    tiers: [
      {
        severity: 'warning',
        match: 'any',
        conditions: [
          { field: 'value', op: '<=', value: 40 },
          { field: 'value', op: '>=', value: 131 },
        ],
      },
    ],
    clearMargin: 5,
    resolveAfterMinutes: 60,
  },
  {
    id: 'temperature.abnormal',
    kind: 'threshold',
    readingType: 'temperature',
    title: 'Fever or hypothermia',
    source: 'Fever >= 38.0 °C; NEWS2 (RCP 2017): <= 35.0 °C scores 3',
    tiers: [
      {
        severity: 'warning',
        match: 'any',
        conditions: [
          { field: 'value', op: '>=', value: 38 },
          { field: 'value', op: '<=', value: 35 },
        ],
      },
    ],
    clearMargin: 0.3,
    resolveAfterMinutes: 240,
  },
  {
    id: 'fall.detected',
    kind: 'event',
    readingType: 'fall',
    title: 'Fall detected',
    source: 'Vigil clinical reference (falls): a fall detected by a wearable is urgent until a person acknowledges it; reports of the same fall within 10 min are one fall (Vigil default)',
    minConfidence: 0.5,
    burstMinutes: 10,
    severity: 'critical',
  },
  {
    id: 'pulse.irregular',
    kind: 'threshold',
    readingType: 'blood_pressure',
    title: 'Irregular heartbeat flagged by the BP monitor',
    source:
      'ESC 2024 atrial fibrillation guideline: opportunistic screening by pulse or rhythm check; NICE MTG13 (2013): BP monitors that flag an irregular pulse, followed by a 12-lead ECG (info: for review, not urgent)',
    tiers: [{ severity: 'info', match: 'any', conditions: [{ field: 'irregular', op: '>=', value: 1 }] }],
    clearMargin: 0,
    // Vigil default: a day of regular readings before the flag is considered gone.
    resolveAfterMinutes: 1440,
  },
  {
    id: 'steps.drop',
    kind: 'drop',
    readingType: 'steps',
    field: 'count',
    title: 'Sustained drop in activity',
    source:
      "Vigil clinical reference (activity): no guideline gives a step-count threshold, so the patient's own baseline: a 7-day mean below 50 % of the prior 28 days, on local days (Vigil default). " +
      'Clears at 60 %: the 10-point margin is a Vigil default, so a week hovering at half the baseline keeps one alert open',
    recentDays: 7,
    baselineDays: 28,
    ratio: 0.5,
    minBaselineDays: 14,
    severity: 'warning',
    clearMargin: 0.1,
  },
  {
    id: 'device.battery_low',
    kind: 'device',
    check: 'battery_low',
    title: 'Device battery low',
    source: 'Vigil operations default: battery below 15 %',
    batteryBelow: 15,
    severity: 'info',
  },
  {
    id: 'device.offline',
    kind: 'device',
    check: 'offline',
    title: 'Device offline',
    source: 'Vigil operations default: offline for more than 24 h',
    offlineHours: 24,
    severity: 'warning',
  },
  {
    id: 'device.rejected_readings',
    kind: 'device',
    check: 'rejecting',
    title: 'Device readings being rejected',
    source: 'Vigil data-quality default: 5 or more readings rejected within 6 h (wrong units, clock or firmware): the care team sees gaps the patient does not know of',
    rejectedAtLeast: 5,
    rejectedWindowHours: 6,
    severity: 'warning',
  },
];

const PROGRAMME_RULES: Record<Programme, RuleInput[]> = {
  hypertension: [
    {
      id: 'bp.home_average',
      kind: 'home_bp',
      readingType: 'blood_pressure',
      title: '7-day home BP average at or above 135/85',
      source:
        'AHA 2019 statement on BP measurement (Muntner et al., Hypertension 2019), ESH 2021 home BP practice guidelines: ' +
        'morning and evening sessions of duplicate readings, day 1 discarded, the mean over 7 days (at least 3); ' +
        'a home mean >= 135/85 corresponds to office 140/90. Clears below 130/80: the 5 mmHg margin is a Vigil default, ' +
        'the home equivalent of the office stage 1 line (ACC/AHA 2017, table 11), so a mean hovering at 135 keeps one alert open',
      windowDays: 7,
      minDays: 3,
      severity: 'warning',
      match: 'any',
      conditions: [
        { field: 'systolic', op: '>=', value: 135 },
        { field: 'diastolic', op: '>=', value: 85 },
      ],
      clearMargin: 5,
    },
    {
      id: 'adherence.antihypertensive_bp',
      kind: 'adherence_bp',
      readingType: 'blood_pressure',
      medicationClass: 'antihypertensive',
      title: 'Missed antihypertensive doses with a rising home BP',
      source:
        'ESH 2023 hypertension guideline (Mancia et al., J Hypertens 2023): poor adherence is a leading cause of uncontrolled ' +
        'hypertension, to be checked before treatment is intensified (also Burnier & Egan, Circ Res 2019); adherence below 80 % ' +
        'is the conventional line (Osterberg & Blaschke, NEJM 2005): 3 missed of 14 twice-daily doses in 7 days is 79 %. ' +
        'Vigil defaults: the mean of daily home systolic means over 7 local days at least 5 mmHg above the 7 days before, ' +
        'each week with at least 3 days of readings (the AHA 2019 / ESH 2021 minimum for a home mean); clears 2 mmHg below the rise',
      missedDoses: 3,
      windowDays: 7,
      field: 'systolic',
      riseMmHg: 5,
      minDays: 3,
      severity: 'warning',
      clearMarginMmHg: 2,
    },
    {
      id: 'missing.blood_pressure',
      kind: 'missing',
      readingType: 'blood_pressure',
      title: 'No blood pressure for 48 h',
      source: 'AHA 2019 statement on BP measurement: home readings morning and evening; nothing for 48 h is two missed days (Vigil default)',
      maxGapHours: 48,
      severity: 'warning',
    },
  ],
  diabetes: [
    {
      id: 'cgm.predictive_low',
      kind: 'threshold',
      readingType: 'glucose',
      where: { source: 'cgm' },
      title: 'CGM falling fast towards a low',
      source: 'International Consensus on CGM (Danne et al., Diabetes Care 2017): rate of change > 2 mg/dL/min is a fast fall; falling fast below 120 mg/dL warns before 70 is crossed (Vigil default)',
      tiers: [
        {
          severity: 'warning',
          match: 'all',
          conditions: [
            { field: 'trend_rate', op: '<', value: -2 },
            { field: 'value', op: '<', value: 120 },
          ],
        },
      ],
      clearMargin: 0,
      resolveAfterMinutes: 30,
      // A warning of what is coming: the fall itself is glucose.low's to report, tier by tier.
      renotifyStep: null,
    },
    {
      id: 'cgm.time_below_range',
      kind: 'time_below',
      readingType: 'glucose',
      where: { source: 'cgm' },
      field: 'value',
      title: 'CGM time below 70 mg/dL over 24 h above 4 %',
      source:
        'International Consensus on Time in Range (Battelino 2019): time below 70 mg/dL < 4 %. Clears at 3 % or less: ' +
        'the 1-point margin (about 15 min a day) is a Vigil default, so a share hovering at 4 % keeps one alert open',
      below: 70,
      windowHours: 24,
      maxShare: 0.04,
      minReadings: 48,
      severity: 'warning',
      clearMargin: 0.01,
    },
    {
      id: 'missing.cgm',
      kind: 'missing',
      readingType: 'glucose',
      where: { source: 'cgm' },
      title: 'CGM gap over 2 h',
      source: 'Vigil clinical reference (missing data): a CGM reports every 1-15 min; a gap over 2 h is a device or patient problem (Vigil default)',
      maxGapHours: 2,
      requireHistory: true,
      toleratesWarmUp: true,
      severity: 'warning',
    },
    {
      id: 'missing.glucose',
      kind: 'missing',
      readingType: 'glucose',
      title: 'No glucose reading for 48 h',
      source: 'Vigil default for meter users: at least one reading every 48 h',
      maxGapHours: 48,
      severity: 'warning',
    },
  ],
  heart_failure: [
    {
      id: 'weight.gain',
      kind: 'weight_gain',
      readingType: 'weight',
      title: 'Weight gain (fluid retention)',
      source:
        'HFSA/AHA self-care advice: morning weights, > 0.9 kg in 1 day or > 2.3 kg in 1 week; ESC 2021 HF guideline: > 2 kg in 3 days; ' +
        "judged against the patient's own baseline. Vigil defaults: each window from its lowest morning weight; " +
        'the baseline is the dry weight, else the median of the 14 days before the week; clears within 0.9 kg of it ' +
        '(the 1-day limit), so a gain that levels off keeps its alert until the fluid is off',
      severity: 'warning',
      windows: [
        { days: 1, riseKg: 0.9 },
        { days: 3, riseKg: 2 },
        { days: 7, riseKg: 2.3 },
      ],
      baselineDays: 14,
      clearMarginKg: 0.9,
    },
    {
      id: 'missing.weight',
      kind: 'missing',
      readingType: 'weight',
      title: 'No weight for 36 h',
      source: 'HFSA/AHA self-care advice: daily morning weights',
      maxGapHours: 36,
      severity: 'warning',
    },
  ],
  copd: [
    {
      id: 'missing.spo2',
      kind: 'missing',
      readingType: 'spo2',
      title: 'No SpO2 for 48 h',
      source: 'Vigil default for home oximetry: at least one reading every 48 h',
      maxGapHours: 48,
      severity: 'warning',
    },
  ],
};

function parseAll(inputs: RuleInput[]): Rule[] {
  return inputs.map((r) => ruleSchema.parse(r));
}

export const DEFAULT_RULE_SET: readonly Rule[] = parseAll(DEFAULT_RULES);
export const PROGRAMME_RULE_SETS: Readonly<Record<Programme, readonly Rule[]>> = {
  hypertension: parseAll(PROGRAMME_RULES.hypertension),
  diabetes: parseAll(PROGRAMME_RULES.diabetes),
  heart_failure: parseAll(PROGRAMME_RULES.heart_failure),
  copd: parseAll(PROGRAMME_RULES.copd),
};

const ALL_RULES = new Map([...DEFAULT_RULE_SET, ...Object.values(PROGRAMME_RULE_SETS).flat()].map((r) => [r.id, r]));

/** Every rule id Vigil knows, to validate overrides against. */
export function findRule(id: string): Rule | undefined {
  return ALL_RULES.get(id);
}

/** The programme whose rule set brings a rule (undefined for the default rules every patient has). */
export function programmeOf(ruleId: string): Programme | undefined {
  return (Object.keys(PROGRAMME_RULE_SETS) as Programme[]).find((p) => PROGRAMME_RULE_SETS[p].some((r) => r.id === ruleId));
}
