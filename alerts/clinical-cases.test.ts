import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Clinic, DAY, HOUR, MIN, nurse } from '../test/support/clinic.js';
import { postgresForFile } from '../test/support/postgres.js';

// Every case on the embedded database and on alerts shared in PostgreSQL (alerts/shared): one contract for both.
const postgres = postgresForFile('clinic');

// The cases of the clinical review (issue 11), each as a care team would meet it, on a fake clock with the
// real state database and reading store. test/alert-safety.e2e.test.ts plays the same over real MQTT.
describe.each(['embedded', 'shared'] as const)('alerts a clinician can trust (%s)', (backend) => {
  let c: Clinic;
  beforeEach(async () => {
    c = await Clinic.open(backend === 'shared' ? await postgres.database() : undefined);
  });
  afterEach(() => c.close());
  const bp = (systolic: number, diastolic: number, extra: { minutesAgo?: number; pulse?: number; irregularHeartbeat?: boolean } = {}) => ({ type: 'blood_pressure' as const, systolic, diastolic, ...extra });
  const glucose = (value: number, minutesAgo = 0) => ({ type: 'glucose' as const, value, unit: 'mg/dL' as const, source: 'meter' as const, minutesAgo });

  describe('1. acknowledging is "I am on it", not "mute forever"', () => {
    it('a second fall three days later notifies on its own', async () => {
      const p = await c.patient();
      await c.send(p, { type: 'fall', confidence: 0.9 });
      const fall = c.live(p.patientId, 'fall.detected')!;
      await c.alerts.actions.acknowledge(fall.id, nurse, 'called: she is fine');
      c.advance(3 * DAY);
      await c.send(p, { type: 'fall', confidence: 0.9 });
      expect(c.live(p.patientId, 'fall.detected')).toMatchObject({ id: fall.id, status: 'open', renotifyCount: 1 });
      expect(c.notices(fall.id)).toEqual(['alert.opened', 'alert.acknowledged', 'alert.renotified:event']);
    });

    it('a crisis of 190/110 acknowledged, then 230/130 twelve hours later, notifies again with the new values', async () => {
      const p = await c.patient(['hypertension']);
      await c.send(p, bp(190, 110));
      const crisis = c.live(p.patientId, 'bp.crisis')!;
      await c.alerts.actions.acknowledge(crisis.id, nurse);
      c.advance(12 * HOUR);
      await c.send(p, bp(230, 130));
      const again = c.events.filter((e) => e.type === 'alert.renotified').at(-1)!;
      expect(again).toMatchObject({ change: 'worse_value', alert: { id: crisis.id, status: 'open', latestValues: { systolic: 230, diastolic: 130 } } });
    });

    it('an acknowledged crisis that persists comes back after the 4 h re-alert interval, not before', async () => {
      const p = await c.patient();
      await c.send(p, bp(195, 100));
      const crisis = c.live(p.patientId, 'bp.crisis')!;
      await c.alerts.actions.acknowledge(crisis.id, nurse);
      c.advance(3 * HOUR);
      await c.send(p, bp(192, 104));
      await c.sweep();
      expect(c.live(p.patientId, 'bp.crisis')!.status).toBe('acknowledged');
      c.advance(HOUR + MIN);
      await c.sweep();
      expect(c.live(p.patientId, 'bp.crisis')).toMatchObject({ status: 'open', renotifyCount: 1 });
      expect(c.notices(crisis.id).at(-1)).toBe('alert.renotified:reminder');
    });
  });

  describe('2. critical alerts latch; warnings resolve with working hysteresis', () => {
    it('210/125 back in range stays until a person acknowledges it', async () => {
      const p = await c.patient();
      await c.send(p, bp(210, 125, { minutesAgo: 10 }));
      c.advance(2 * HOUR);
      await c.send(p, bp(135, 85, { minutesAgo: 90 }), bp(132, 84));
      const latched = c.live(p.patientId, 'bp.crisis')!;
      expect(latched).toMatchObject({ status: 'open', clearSince: expect.any(Number) });
      expect(latched.backInRangeAt).not.toBeNull();
      c.advance(DAY);
      await c.sweep();
      expect(c.live(p.patientId, 'bp.crisis')?.id).toBe(latched.id);
      const done = await c.alerts.actions.acknowledge(latched.id, nurse, 'reviewed');
      expect(done).toMatchObject({ status: 'resolved', resolvedBy: 'user:nurse' });
      // Unseen, it escalated like any open critical: back in range is not the same as seen.
      expect(c.notices(latched.id)).toEqual(['alert.opened', 'alert.back_in_range', 'alert.escalated', 'alert.acknowledged', 'alert.resolved']);
    });

    it('a level 2 hypo does not close itself after 30 minutes', async () => {
      const p = await c.patient(['diabetes']);
      await c.send(p, glucose(48, 60));
      await c.send(p, glucose(95, 40), glucose(110, 5));
      expect(c.live(p.patientId, 'glucose.low')).toMatchObject({ severity: 'critical', status: 'open' });
    });

    it('a warning hovering at its line does not resolve: 260, 225, 240, 228 (clears at 230, after 2 h)', async () => {
      const p = await c.patient(['diabetes']);
      await c.send(p, glucose(260, 300));
      await c.send(p, glucose(225, 240), glucose(240, 150), glucose(228, 110));
      // Two hours after the 225, but the 240 in the band restarted the clock at the 228.
      await c.send(p, glucose(226, 5));
      expect(c.live(p.patientId, 'glucose.high')?.status).toBe('open');
      c.advance(2 * HOUR);
      await c.send(p, glucose(200));
      expect(c.live(p.patientId, 'glucose.high')).toBeUndefined();
      expect(c.all(p.patientId, 'glucose.high')[0]).toMatchObject({ status: 'resolved', resolvedBy: 'vigil' });
    });
  });

  describe('3. overrides and snoozes have floors', () => {
    it('refuses to disable bp.crisis or to move glucose.low below 54, and says why', async () => {
      const p = await c.patient();
      expect(() => c.alerts.actions.setOverride(p.patientId, 'bp.crisis', { enabled: false }, nurse, { reason: 'too many alerts' })).toThrow(/bp\.crisis: the rule is a safety floor/);
      const below20 = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'value', op: '<', value: 20 }] }] };
      expect(() => c.alerts.actions.setOverride(p.patientId, 'glucose.low', below20, nurse, { reason: 'x' })).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_SAFETY_FLOOR' }));
      expect(() => c.alerts.actions.setOverride(p.patientId, 'glucose.low', { resolveAfterMinutes: 60 }, nurse, { reason: ' ' })).toThrow(/needs a reason/);
      // Tightening is allowed: alert from 190 for this patient.
      const tighter = { tiers: [{ severity: 'critical', match: 'any', conditions: [{ field: 'systolic', op: '>=', value: 170 }, { field: 'diastolic', op: '>', value: 110 }] }] };
      await c.alerts.actions.setOverride(p.patientId, 'bp.crisis', tighter, nurse, { reason: 'post-stroke target' });
      await c.send(p, bp(172, 90));
      expect(c.live(p.patientId, 'bp.crisis')?.severity).toBe('critical');
    });

    it('bounds snoozes, needs a reason, never silences a critical, and lets a worse tier through', async () => {
      const p = await c.patient(['diabetes']);
      expect(() => c.alerts.actions.snooze(p.patientId, 'bp.crisis', c.clock + HOUR, nurse, 'on holiday')).toThrow(expect.objectContaining({ code: 'VIGIL_ERR_SAFETY_FLOOR' }));
      expect(() => c.alerts.actions.snooze(p.patientId, 'glucose.low', c.clock + 48 * HOUR, nurse, 'long')).toThrow(/at most 24 h/);
      expect(() => c.alerts.actions.snooze(p.patientId, 'glucose.low', c.clock + HOUR, nurse, '')).toThrow(/needs a reason/);
      expect(await c.alerts.actions.snooze(p.patientId, 'glucose.low', c.clock + 4 * HOUR, nurse, 'hypo treated, rechecking')).toMatchObject({ tier: 'warning' });
      await c.send(p, glucose(62));
      expect(c.live(p.patientId, 'glucose.low')).toBeUndefined();
      await c.send(p, glucose(45));
      expect(c.live(p.patientId, 'glucose.low')).toMatchObject({ severity: 'critical', status: 'open' });
      expect(c.alerts.queries.snoozesOf(p.patientId)).toEqual([expect.objectContaining({ ruleId: 'glucose.low', actor: 'user:nurse', note: 'hypo treated, rechecking' })]);
      expect(c.audit.list({ patientId: p.patientId, action: 'rule.snooze' })).toHaveLength(1);
    });

    it('lets an override expire: the default applies again and the expiry is audited', async () => {
      const p = await c.patient();
      const stricter = { tiers: [{ severity: 'warning', match: 'any', conditions: [{ field: 'value', op: '>=', value: 37.5 }] }] };
      await c.alerts.actions.setOverride(p.patientId, 'temperature.abnormal', stricter, nurse, { reason: 'post-op week', expiresAt: c.clock + 7 * DAY });
      expect(c.alerts.queries.overridesOf(p.patientId)).toEqual([expect.objectContaining({ reason: 'post-op week', actor: 'user:nurse', expiresAt: c.clock + 7 * DAY })]);
      c.advance(7 * DAY + MIN);
      await c.sweep();
      expect(c.alerts.queries.overridesOf(p.patientId)).toEqual([]);
      expect(c.audit.list({ patientId: p.patientId, action: 'rule.override_expired' })).toHaveLength(1);
      await c.send(p, { type: 'temperature', value: 37.6, unit: 'Cel' });
      expect(c.live(p.patientId, 'temperature.abnormal')).toBeUndefined();
    });
  });

  describe('4. pulse from every reading that carries one', () => {
    it("a cuff's 32/min and an oximeter's 150/min raise the pulse alert; the irregular-heartbeat flag drives its own", async () => {
      const p = await c.patient();
      await c.send(p, bp(118, 76, { pulse: 32 }));
      expect(c.live(p.patientId, 'pulse.extreme')?.latestValues).toEqual({ value: 32 });
      const q = await c.patient();
      await c.send(q, { type: 'spo2', value: 97, pulse: 150 });
      expect(c.live(q.patientId, 'pulse.extreme')?.severity).toBe('warning');
      // A cuff reading without a pulse says nothing about the pulse.
      c.advance(3 * HOUR);
      await c.send(q, bp(120, 80));
      expect(c.live(q.patientId, 'pulse.extreme')?.clearSince).toBeNull();
      await c.send(p, bp(124, 78, { pulse: 70, irregularHeartbeat: true }));
      expect(c.live(p.patientId, 'pulse.irregular')?.severity).toBe('info');
    });
  });

  describe('5. severities as the sources say', () => {
    it('SpO2 82 %, glucose 600 mg/dL, and the meter HI and LO flags are critical', async () => {
      const p = await c.patient();
      await c.send(p, { type: 'spo2', value: 82 }, glucose(600));
      expect(c.live(p.patientId, 'spo2.low')?.severity).toBe('critical');
      expect(c.live(p.patientId, 'glucose.high')?.severity).toBe('critical');
      const q = await c.patient();
      await c.send(q, { type: 'glucose', flag: 'HI', source: 'meter' });
      expect(c.live(q.patientId, 'glucose.high')?.severity).toBe('critical');
      await c.send(q, { type: 'glucose', flag: 'LO', source: 'meter', minutesAgo: -1 });
      expect(c.live(q.patientId, 'glucose.low')?.severity).toBe('critical');
      // A LO reading says nothing about hyperglycaemia: the HI alert stays as it was.
      expect(c.live(q.patientId, 'glucose.high')?.clearSince).toBeNull();
    });
  });

  describe('6. the COPD target is a per-patient choice', () => {
    it('a COPD patient stays on the general line until a clinician applies the 88-92 % target', async () => {
      const p = await c.patient(['copd']);
      await c.send(p, { type: 'spo2', value: 90 });
      expect(c.live(p.patientId, 'spo2.low')?.severity).toBe('warning');
      const q = await c.patient(['copd']);
      await c.alerts.actions.applyPreset(q.patientId, 'spo2.copd_target', nurse);
      await c.send(q, { type: 'spo2', value: 90 });
      expect(c.live(q.patientId, 'spo2.low')).toBeUndefined();
      await c.send(q, { type: 'spo2', value: 86, minutesAgo: -1 });
      expect(c.live(q.patientId, 'spo2.low')?.severity).toBe('warning');
      expect(c.alerts.queries.overridesOf(q.patientId)).toEqual([expect.objectContaining({ preset: 'spo2.copd_target', reason: expect.stringMatching(/BTS 2017/) })]);
    });
  });

  describe('7. the home BP protocol, with hysteresis', () => {
    it('twelve readings within twelve minutes on day 1 open no 7-day average alert', async () => {
      const p = await c.patient(['hypertension']);
      await c.send(p, ...Array.from({ length: 12 }, (_, i) => bp(150, 95, { minutesAgo: 12 - i })));
      expect(c.live(p.patientId, 'bp.home_average')).toBeUndefined();
    });
  });

  describe('7 (continued). a home average hovering at its line does not flap', () => {
    it('ten days of morning and evening readings averaging 134.6-135.4 open one alert and never resolve it', async () => {
      const steady = await c.patient(['hypertension']);
      // The same readings without the clear margin: the hysteresis is what keeps this one alert.
      const flappy = await c.patient(['hypertension']);
      await c.alerts.actions.setOverride(flappy.patientId, 'bp.home_average', { clearMargin: 0 }, nurse, { reason: 'test: no hysteresis' });
      const midnight = Math.floor(c.clock / DAY) * DAY - 11 * DAY;
      for (let day = 0; day <= 10; day++) {
        for (const [hour, systolic] of [[7, day % 2 ? 135.8 : 134.2], [19, day % 3 ? 135.2 : 134.6]] as const) {
          const at = midnight + day * DAY + hour * HOUR;
          c.clock = at + 2 * MIN;
          for (const p of [steady, flappy]) await c.send(p, { type: 'blood_pressure', systolic, diastolic: 80, at }, { type: 'blood_pressure', systolic, diastolic: 80, at: at + MIN });
        }
      }
      const count = (patientId: string, type: string) => c.events.filter((e) => e.alert.patientId === patientId && e.alert.ruleId === 'bp.home_average' && e.type === type).length;
      expect(count(steady.patientId, 'alert.opened')).toBe(1);
      expect(count(steady.patientId, 'alert.resolved')).toBe(0);
      expect(count(flappy.patientId, 'alert.resolved')).toBeGreaterThan(0);
    });
  });

  describe('8. days are the patient\'s local days, across a clock change', () => {
    it('morning weights at 07:00 in Los Angeles over the end of daylight saving (1 Nov 2026) are seven mornings', async () => {
      const start = Date.parse('2026-10-27T14:00:00Z'); // 07:00 PDT
      const p = await c.patient(['heart_failure'], 'America/Los_Angeles');
      for (let d = 0; d <= 6; d++) {
        // 07:00 local: 14:00 UTC before the change, 15:00 UTC from 1 November.
        const at = start + d * DAY + (d >= 5 ? HOUR : 0);
        c.clock = at + 5 * MIN;
        await c.send(p, { type: 'weight', value: 80 + (2.6 * d) / 6, unit: 'kg', at });
      }
      expect(c.live(p.patientId, 'weight.gain')).toMatchObject({ severity: 'warning', latestValues: { weight: 82.6, rise: 2.6, days: 7 } });
      // The same weights for a patient in UTC are afternoon weights: none of them is a morning weight.
      const utc = await c.patient(['heart_failure'], 'UTC');
      for (let d = 0; d <= 6; d++) {
        const at = start + d * DAY + (d >= 5 ? HOUR : 0);
        await c.send(utc, { type: 'weight', value: 80 + (2.6 * d) / 6, unit: 'kg', at });
      }
      expect(c.live(utc.patientId, 'weight.gain')).toBeUndefined();
    });
  });

  describe('9. heart-failure weight against the baseline', () => {
    it('+2.6 kg over six days of morning weights alerts, and a gain that levels off keeps the alert open', async () => {
      const morning = Math.floor(c.clock / DAY) * DAY + 7 * HOUR;
      c.clock = morning + 10 * MIN;
      const p = await c.patient(['heart_failure']);
      for (let d = 6; d >= 0; d--) await c.send(p, { type: 'weight', value: 80 + (2.6 * (6 - d)) / 6, unit: 'kg', at: morning - d * DAY });
      const gain = c.live(p.patientId, 'weight.gain')!;
      expect(gain.severity).toBe('warning');
      for (let d = 1; d <= 3; d++) {
        c.clock = morning + d * DAY + 10 * MIN;
        await c.send(p, { type: 'weight', value: 82.6, unit: 'kg', at: morning + d * DAY });
      }
      expect(c.live(p.patientId, 'weight.gain')?.id).toBe(gain.id);
    });
  });

  describe('10. missing data counts from enrolment and tolerates a declared warm-up; rejected readings reach the care team', () => {
    it('enrolling an existing patient is not a gap', async () => {
      const p = await c.patient();
      // The patient has been in the registry for a month before joining the heart-failure programme.
      c.state.db.prepare('UPDATE patients SET created_at = ? WHERE id = ?').run(c.clock - 30 * DAY, p.patientId);
      c.state.db.prepare('UPDATE devices SET assigned_at = ? WHERE id = ?').run(c.clock - 30 * DAY, p.deviceId);
      await c.state.registry.setProgrammes(p.patientId, ['heart_failure']);
      await c.sweep();
      expect(c.live(p.patientId, 'missing.weight')).toBeUndefined();
      c.advance(37 * HOUR);
      await c.sweep();
      expect(c.live(p.patientId, 'missing.weight')?.message).toMatch(/no reading for 3[67] h since enrolment/);
    });

    it('a CGM warm-up is not a gap; the gap counts from its end', async () => {
      const p = await c.patient(['diabetes']);
      await c.send(p, { type: 'glucose', value: 120, unit: 'mg/dL', source: 'cgm', minutesAgo: 5 });
      c.state.registry.recordStatus(p.deviceId, { online: true, warmUpUntil: new Date(c.clock + 2 * HOUR).toISOString() }, c.clock);
      c.advance(3 * HOUR);
      await c.sweep();
      expect(c.live(p.patientId, 'missing.cgm')).toBeUndefined();
      c.advance(HOUR + MIN);
      await c.sweep();
      expect(c.live(p.patientId, 'missing.cgm')?.severity).toBe('warning');
    });

    it('a device whose readings keep being rejected is a data-quality alert', async () => {
      const p = await c.patient();
      const rejected = Array.from({ length: 5 }, (_, i) => ({ ref: String(i), code: 'VIGIL_ERR_OUT_OF_RANGE' as const, message: 'glucose 1500 mg/dL is outside 10-1000 mg/dL' }));
      c.rejections.record({ deviceId: p.deviceId, patientId: p.patientId, rejections: rejected, receivedAt: Date.now(), payload: Buffer.from('[]'), allRejected: true });
      await c.sweep();
      expect(c.live(p.patientId, 'device.rejected_readings')).toMatchObject({ subject: p.deviceId, severity: 'warning', latestValues: { rejected: 5 } });
    });
  });

  describe('11. a backlog is judged in order of measurement, and late data does not page', () => {
    it('[normal 1 h ago, normal 3 h ago, crisis 48 h ago] is a crisis that is back in range, marked late, not escalating', async () => {
      const p = await c.patient();
      await c.send(p, bp(128, 82, { minutesAgo: 60 }), bp(126, 80, { minutesAgo: 180 }), bp(196, 112, { minutesAgo: 48 * 60 }));
      const crisis = c.live(p.patientId, 'bp.crisis')!;
      expect(crisis).toMatchObject({ late: true, status: 'open', clearSince: c.clock - 180 * MIN });
      expect(crisis.backInRangeAt).not.toBeNull();
      c.advance(HOUR);
      await c.sweep();
      expect(c.live(p.patientId, 'bp.crisis')!.escalationLevel).toBe(0);
    });
  });
});
