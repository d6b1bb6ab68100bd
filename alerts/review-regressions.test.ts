import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic, DAY, HOUR, MIN, nurse } from '../test/support/clinic.js';
import { postgresForFile } from '../test/support/postgres.js';

// Every case on the embedded database and on alerts shared in PostgreSQL (alerts/shared): one contract for both.
const postgres = postgresForFile('regressions');

// Defects an adversarial review of the alert state machine found (each failed before its fix).
describe.each(['embedded', 'shared'] as const)('alert safety regressions (%s)', (backend) => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open(backend === 'shared' ? await postgres.database() : undefined);
  });
  afterEach(() => c.close());
  const bp = (systolic: number, diastolic: number, minutesAgo = 0) => ({ type: 'blood_pressure' as const, systolic, diastolic, minutesAgo });
  const glucose = (value: number, minutesAgo = 0, source: 'meter' | 'cgm' = 'meter') => ({ type: 'glucose' as const, value, unit: 'mg/dL' as const, source, minutesAgo });

  it('an older reading in a worse tier re-notifies an acknowledged warning; the critical never resolves unseen', async () => {
    const p = await c.patient(['diabetes']);
    await c.send(p, glucose(62, 0, 'cgm'));
    const hypo = c.live(p.patientId, 'glucose.low')!;
    await c.alerts.actions.acknowledge(hypo.id, nurse);
    await c.send(p, glucose(45, 5)); // a meter reading taken 5 min before the CGM's, arriving after it
    expect(c.live(p.patientId, 'glucose.low')).toMatchObject({ severity: 'critical', status: 'open' });
    c.advance(40 * MIN);
    await c.send(p, glucose(95, 35), glucose(100, 0));
    expect(c.live(p.patientId, 'glucose.low')?.backInRangeAt).not.toBeNull();
    expect(c.notices(hypo.id)).toEqual(['alert.opened', 'alert.acknowledged', 'alert.renotified:worse_tier', 'alert.back_in_range']);
  });

  it('a hub that uploads every 20 minutes is current: its crisis escalates, and one late reading does not make it late', async () => {
    const p = await c.patient();
    await c.send(p, bp(205, 115, 18));
    const crisis = c.live(p.patientId, 'bp.crisis')!;
    expect(crisis.late).toBe(false);
    c.advance(20 * MIN);
    await c.send(p, bp(200, 112, 90)); // a reading from 90 minutes ago, uploaded late
    await c.sweep();
    expect(c.live(p.patientId, 'bp.crisis')).toMatchObject({ late: false, escalationLevel: 1 });
  });

  it('a reading evaluated again after a restart does not reopen an alert a person resolved', async () => {
    const p = await c.patient();
    const [fall] = await c.send(p, { type: 'fall', confidence: 0.9 });
    await c.alerts.actions.resolve(c.live(p.patientId, 'fall.detected')!.id, nurse, 'seen in clinic');
    c.advance(2 * HOUR);
    c.alerts.evaluation.onCommitted([fall!]);
    expect(c.live(p.patientId, 'fall.detected')).toBeUndefined();
    expect(c.all(p.patientId, 'fall.detected')).toHaveLength(1);
  });

  it('an alert opened in the same batch that resolved the one before it still clears later', async () => {
    const p = await c.patient();
    await c.send(p, bp(85, 70, 300));
    await c.send(p, bp(120, 80, 200), bp(120, 80, 100), bp(84, 70, 50));
    const second = c.live(p.patientId, 'bp.hypotension')!;
    expect(c.all(p.patientId, 'bp.hypotension')).toHaveLength(2);
    c.advance(3 * HOUR);
    await c.send(p, bp(120, 80, 120), bp(121, 80, 30), bp(122, 80));
    expect(c.alerts.queries.get(second.id)!.alert).toMatchObject({ status: 'resolved', resolvedBy: 'vigil' });
  });

  it('an override cannot slow re-notification on a guideline limit', async () => {
    const p = await c.patient();
    expect(() => c.alerts.actions.setOverride(p.patientId, 'bp.crisis', { renotifyStep: 1000 }, nurse, { reason: 'x' })).toThrow(/safety floor/);
    expect(() => c.alerts.actions.setOverride(p.patientId, 'bp.crisis', { renotifyStep: null }, nurse, { reason: 'x' })).toThrow(/safety floor/);
    expect(() => c.alerts.actions.setOverride(p.patientId, 'fall.detected', { burstMinutes: 100_000 }, nurse, { reason: 'x' })).toThrow(/burstMinutes/);
    expect(() => c.alerts.actions.setOverride(p.patientId, 'fall.detected', { burstMinutes: 180 }, nurse, { reason: 'x' })).toThrow(/safety floor/);
    expect(() => c.alerts.actions.setOverride(p.patientId, 'steps.drop', { baselineDays: 200_000 }, nurse, { reason: 'x' })).toThrow(/baselineDays/);
  });

  it('an acknowledged fall does not remind every 4 hours; the next fall notifies on its own', async () => {
    const p = await c.patient();
    await c.send(p, { type: 'fall', confidence: 0.9 });
    const fall = c.live(p.patientId, 'fall.detected')!;
    await c.alerts.actions.acknowledge(fall.id, nurse);
    for (let h = 0; h < 24; h++) {
      c.advance(HOUR);
      await c.sweep();
    }
    expect(c.notices(fall.id)).toEqual(['alert.opened', 'alert.acknowledged']);
  });

  it('resolves, with the reason, an alert whose rule no longer watches it', async () => {
    const p = await c.patient(['heart_failure']);
    await c.send(p, { type: 'weight', value: 80, unit: 'kg' });
    c.advance(37 * HOUR);
    await c.sweep();
    const missing = c.live(p.patientId, 'missing.weight')!;
    await c.state.registry.assignDevice(p.deviceId, null);
    c.advance(MIN);
    await c.sweep();
    expect(c.alerts.queries.get(missing.id)!.alert).toMatchObject({ status: 'resolved', resolvedBy: 'vigil', resolveNote: 'the patient has no device' });
  });

  it('a hand-edited override that is not JSON is skipped: the patient keeps the default rule', async () => {
    const p = await c.patient();
    c.state.db.prepare('INSERT INTO rule_overrides (patient_id, rule_id, override, actor, updated_at) VALUES (?, ?, ?, ?, ?)').run(p.patientId, 'bp.crisis', '{not json', 'sql', c.clock);
    await c.send(p, bp(200, 110));
    expect(c.live(p.patientId, 'bp.crisis')?.severity).toBe('critical');
    await c.sweep();
  });

  it('a stored time zone the runtime does not know falls back to UTC days instead of stopping trend rules', async () => {
    const p = await c.patient(['heart_failure']);
    c.state.db.prepare('UPDATE patients SET time_zone = ? WHERE id = ?').run('Mars/Olympus_Mons', p.patientId);
    const morning = Math.floor(c.clock / DAY) * DAY + 7 * HOUR;
    for (let d = 6; d >= 0; d--) {
      c.clock = morning - d * DAY + 5 * MIN;
      await c.send(p, { type: 'weight', value: 80 + (2.6 * (6 - d)) / 6, unit: 'kg', minutesAgo: 5 });
    }
    expect(c.live(p.patientId, 'weight.gain')?.severity).toBe('warning');
  });
});
