import { describe, expect, it } from 'vitest';
import { PROGRAMME_RULE_SETS } from '../rules/catalogue.js';
import type { TrendRule } from './trends.js';
import type { Finding } from './finding.js';
import { raiseBySymptoms } from './symptom-raise.js';

const weightGain = PROGRAMME_RULE_SETS.heart_failure.find((r) => r.id === 'weight.gain') as TrendRule;
const homeBp = PROGRAMME_RULE_SETS.hypertension.find((r) => r.kind === 'home_bp') as TrendRule;
const finding = (severity: Finding['severity'], band = false): Finding => ({ ruleId: 'weight.gain', subject: '', severity, observedAt: 1_000, values: { weight: 82 }, message: 'Weight gain (fluid retention): +1.2 kg over 1 day (limit 0.9 kg)', score: 0.3, ...(band ? { band } : {}) });

describe('check-in symptoms and the weight-gain rule', () => {
  it('raises a weight-gain warning to critical when worse breathing was reported, saying why', () => {
    const raised = raiseBySymptoms(weightGain, finding('warning'), () => 900);
    expect(raised).toMatchObject({ severity: 'critical', values: { weight: 82, worseBreathingAt: 900 } });
    expect(raised?.message).toContain('with breathing worse than usual reported in a check-in');
  });

  it('leaves it alone without a report, and never lowers, clears or creates anything', () => {
    expect(raiseBySymptoms(weightGain, finding('warning'), () => undefined)?.severity).toBe('warning');
    // A critical stays critical; a clear finding and a band finding stay as they are (the answer cannot silence).
    expect(raiseBySymptoms(weightGain, finding('critical'), () => 900)?.severity).toBe('critical');
    expect(raiseBySymptoms(weightGain, finding(null), () => 900)).toEqual(finding(null));
    expect(raiseBySymptoms(weightGain, finding(null, true), () => 900)).toEqual(finding(null, true));
    // No weight finding: an answer alone raises nothing.
    expect(raiseBySymptoms(weightGain, undefined, () => 900)).toBeUndefined();
    // Other trend rules are not raised by breathlessness.
    expect(raiseBySymptoms(homeBp, finding('warning'), () => 900)?.severity).toBe('warning');
  });
});
