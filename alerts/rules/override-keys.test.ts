import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic, nurse } from '../../test/support/clinic.js';
import { RULE_PRESETS } from './presets.js';
import { effectiveRules } from './effective.js';

/**
 * An override names the values it changes. A misspelled name (`dryWeightKG`) used to be stored with its reason
 * and listed as if it applied, while the rule kept its old value: a clinician believed a line had moved.
 */
describe('the keys of a rule override', () => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open();
  });
  afterEach(() => c.close());

  it('refuses a key the rule does not have, naming it, and stores nothing', async () => {
    const p = await c.patient(['heart_failure']);
    const misspelled = () => c.alerts.actions.setOverride(p.patientId, 'weight.gain', { dryWeightKG: 78.5 }, nurse, { reason: 'dry weight at discharge' });
    expect(misspelled).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_CONFIG', message: expect.stringMatching(/weight\.gain.*unknown.*dryWeightKG/) }));
    expect(() => c.alerts.actions.setOverride(p.patientId, 'bp.crisis', { x: 1 }, nurse, { reason: 'x' })).toThrow(/unknown.*\bx\b/);
    expect(c.alerts.queries.overridesOf(p.patientId)).toEqual([]);
    const weightGain = c.alerts.queries.rulesFor(p.patientId).find((r) => r.id === 'weight.gain') as { dryWeightKg?: number | null };
    expect(weightGain.dryWeightKg ?? null).toBeNull();
  });

  it("accepts the rule's own keys, including those it leaves at their default", async () => {
    const p = await c.patient(['heart_failure']);
    await c.alerts.actions.setOverride(p.patientId, 'weight.gain', { dryWeightKg: 78.5 }, nurse, { reason: 'dry weight at discharge' });
    expect(c.alerts.queries.rulesFor(p.patientId).find((r) => r.id === 'weight.gain')).toMatchObject({ dryWeightKg: 78.5 });
  });

  it('lets every preset of the catalogue through', async () => {
    const p = await c.patient(['hypertension', 'diabetes', 'heart_failure', 'copd']);
    for (const preset of RULE_PRESETS) await c.alerts.actions.applyPreset(p.patientId, preset.id, nurse);
    expect(c.alerts.queries.overridesOf(p.patientId)).toHaveLength(RULE_PRESETS.length);
  });

  it('an override stored before keys were checked still loads: its known values apply, the unknown ones are ignored', () => {
    const stored = new Map([['weight.gain', { dryWeightKG: 1, dryWeightKg: 78.5 }]]);
    expect(effectiveRules(['heart_failure'], stored).find((r) => r.id === 'weight.gain')).toMatchObject({ dryWeightKg: 78.5 });
  });
});
