import type { RulePreset as RulePresetShape } from '../../domain/index.js';

/** A named, sourced per-patient override a clinician applies in one step (CLI, API, patient page; domain/api/rule.ts). */
export type RulePreset = Readonly<RulePresetShape>;

export const RULE_PRESETS: readonly RulePreset[] = [
  {
    id: 'spo2.copd_target',
    ruleId: 'spo2.low',
    title: 'COPD target saturation 88-92 %',
    source:
      'BTS 2017 oxygen guideline: a target of 88-92 % for patients at risk of hypercapnic respiratory failure, set per patient by a clinician; NEWS2 (RCP 2017) SpO2 scale 2: <= 83 % scores 3 (critical)',
    override: {
      tiers: [
        { severity: 'critical', match: 'any', conditions: [{ field: 'value', op: '<=', value: 83 }] },
        { severity: 'warning', match: 'any', conditions: [{ field: 'value', op: '<', value: 88 }] },
      ],
    },
  },
];

export function findPreset(id: string): RulePreset | undefined {
  return RULE_PRESETS.find((p) => p.id === id);
}
