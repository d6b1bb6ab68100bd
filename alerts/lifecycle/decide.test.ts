import { describe, expect, it } from 'vitest';
import type { Finding } from '../evaluate/finding.js';
import { findRule } from '../rules/catalogue.js';
import type { Rule, Severity } from '../rules/schema.js';
import type { Alert } from '../types.js';
import { decide, type Decision } from './decide.js';
import { dueEscalation, dueReminder, type TimerPolicy } from './timers.js';

const T = Date.parse('2026-11-22T08:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

const rule = (id: string): Rule => findRule(id)!;

function alert(over: Partial<Alert> = {}): Alert {
  return {
    id: 1,
    patientId: 'p',
    ruleId: 'bp.crisis',
    subject: '',
    status: 'open',
    severity: 'critical',
    title: 't',
    message: 'm',
    openedAt: T,
    updatedAt: T,
    firstObservedAt: T,
    lastObservedAt: T,
    count: 1,
    latestValues: {},
    worstValues: {},
    worstScore: 0.06,
    late: false,
    clearSince: null,
    backInRangeAt: null,
    notifiedAt: T,
    renotifyCount: 0,
    lastRenotifyReason: null,
    escalationLevel: 0,
    escalatedAt: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
    acknowledgeNote: null,
    resolvedAt: null,
    resolvedBy: null,
    resolveNote: null,
    ...over,
  };
}

const abnormal = (severity: Severity, at: number, score = 0.06): Finding => ({ ruleId: 'r', subject: '', severity, observedAt: at, values: {}, message: 'x', score });
const clear = (at: number): Finding => ({ ruleId: 'r', subject: '', severity: null, observedAt: at, values: {}, message: 'x', score: 0 });
const band = (at: number): Finding => ({ ...clear(at), band: true });
const acked = { status: 'acknowledged' as const, acknowledgedAt: T + MIN, acknowledgedBy: 'user:nurse' };

// The transitions of docs/alerts.md, one row each: the live alert before, the finding, what must happen.
describe('the alert state machine (docs/alerts.md)', () => {
  const rows: [string, Alert | undefined, Finding, { rule: string; late?: boolean; snoozedUpTo?: Severity; alreadyResolved?: boolean }, Decision['kind'], string?][] = [
    ['a finding with no live alert opens one', undefined, abnormal('critical', T), { rule: 'bp.crisis' }, 'open'],
    ['a clear finding with no live alert does nothing', undefined, clear(T), { rule: 'bp.crisis' }, 'none'],
    ['the same tier again is a repeat', alert(), abnormal('critical', T + MIN, 0.07), { rule: 'bp.crisis' }, 'repeat'],
    ['a worse tier re-notifies', alert({ ruleId: 'glucose.low', severity: 'warning', ...acked }), abnormal('critical', T + HOUR), { rule: 'glucose.low' }, 'renotify', 'worse_tier'],
    // 190/110 acknowledged (score 10/180), 230/130 twelve hours later (score 50/180): materially worse.
    ['a materially worse value re-notifies an acknowledged alert', alert({ worstScore: 10 / 180, ...acked }), abnormal('critical', T + 12 * HOUR, 50 / 180), { rule: 'bp.crisis' }, 'renotify', 'worse_value'],
    ['a slightly worse value is a repeat', alert({ worstScore: 10 / 180, ...acked }), abnormal('critical', T + HOUR, 20 / 180), { rule: 'bp.crisis' }, 'repeat'],
    ['a second fall days later re-notifies an acknowledged fall', alert({ ruleId: 'fall.detected', ...acked }), abnormal('critical', T + 72 * HOUR, 0.9), { rule: 'fall.detected' }, 'renotify', 'event'],
    ['a fall within the burst window is the same fall', alert({ ruleId: 'fall.detected' }), abnormal('critical', T + 5 * MIN, 0.9), { rule: 'fall.detected' }, 'repeat'],
    ['a reading measured now re-notifies an alert opened from late data', alert({ late: true }), abnormal('critical', T + MIN), { rule: 'bp.crisis' }, 'renotify', 'current'],
    ['a new fall after one from late data is a new fall', alert({ ruleId: 'fall.detected', late: true }), abnormal('critical', T + 26 * HOUR, 0.9), { rule: 'fall.detected' }, 'renotify', 'event'],
    ['a late reading in a worse tier re-notifies all the same', alert({ ruleId: 'glucose.low', severity: 'warning', ...acked }), abnormal('critical', T + MIN), { rule: 'glucose.low', late: true }, 'renotify', 'worse_tier'],
    ['an older reading in a worse tier re-notifies all the same', alert({ ruleId: 'glucose.low', severity: 'warning', lastObservedAt: T + HOUR, ...acked }), abnormal('critical', T), { rule: 'glucose.low' }, 'renotify', 'worse_tier'],
    ['a late reading of the same tier is recorded, not paged', alert({ worstScore: 0.01 }), abnormal('critical', T + MIN, 0.5), { rule: 'bp.crisis', late: true }, 'repeat'],
    ['a reading older than the alert is recorded, not paged', alert({ ruleId: 'fall.detected', lastObservedAt: T + HOUR }), abnormal('critical', T), { rule: 'fall.detected' }, 'repeat'],
    ['a reading a resolved alert already covered opens nothing (a replay after a restart)', undefined, abnormal('critical', T), { rule: 'fall.detected', alreadyResolved: true }, 'none'],
    ['an abnormal reading after a latched critical re-notifies', alert({ clearSince: T + MIN, backInRangeAt: T + 62 * MIN }), abnormal('critical', T + 2 * HOUR), { rule: 'bp.crisis' }, 'renotify', 'recurred'],
    ['a snoozed tier opens nothing', undefined, abnormal('warning', T), { rule: 'glucose.low', snoozedUpTo: 'warning' }, 'none'],
    ['a worse tier breaks through a snooze', undefined, abnormal('warning', T), { rule: 'device.battery_low', snoozedUpTo: 'info' }, 'open'],
    ['a critical finding breaks through any snooze', undefined, abnormal('critical', T), { rule: 'glucose.low', snoozedUpTo: 'warning' }, 'open'],
    ['the first clear reading starts the clear timer', alert({ severity: 'warning', ruleId: 'glucose.high' }), clear(T + MIN), { rule: 'glucose.high' }, 'clearing'],
    ['clear for the hold time resolves a warning', alert({ severity: 'warning', ruleId: 'glucose.high', clearSince: T + MIN }), clear(T + 121 * MIN), { rule: 'glucose.high' }, 'resolve'],
    ['clear for the hold time latches an unacknowledged critical', alert({ clearSince: T + MIN }), clear(T + 61 * MIN), { rule: 'bp.crisis' }, 'back_in_range'],
    ['a latched critical stays latched', alert({ clearSince: T + MIN, backInRangeAt: T + 61 * MIN }), clear(T + 3 * HOUR), { rule: 'bp.crisis' }, 'none'],
    ['an acknowledged critical clear for the hold time resolves', alert({ clearSince: T + MIN, ...acked }), clear(T + 61 * MIN), { rule: 'bp.crisis' }, 'resolve'],
    ['a reading in the band restarts the clear timer', alert({ severity: 'warning', ruleId: 'glucose.high', clearSince: T + MIN }), band(T + 30 * MIN), { rule: 'glucose.high' }, 'band'],
    ['a reading in the band with no timer running changes nothing', alert({ severity: 'warning', ruleId: 'glucose.high' }), band(T + 30 * MIN), { rule: 'glucose.high' }, 'none'],
    ['a late clear reading from before the last abnormal one changes nothing', alert({ lastObservedAt: T + HOUR }), clear(T), { rule: 'bp.crisis' }, 'none'],
  ];
  it.each(rows)('%s', (_name, live, finding, ctx, kind, reason) => {
    const decision = decide(live, finding, { rule: rule(ctx.rule), late: ctx.late ?? false, snoozedUpTo: ctx.snoozedUpTo, alreadyResolved: ctx.alreadyResolved });
    expect(decision.kind).toBe(kind);
    if (reason) expect(decision).toMatchObject({ reason });
  });

  it('does not resolve a warning hovering at the line: 185, 165, 178, 168 (hysteresis restarts the clear timer)', () => {
    // A warning rule with the crisis numbers: > 180 warns, back in range at <= 170, for 60 min.
    const r = { ...(rule('bp.crisis') as Extract<Rule, { kind: 'threshold' }>), tiers: [{ severity: 'warning' as const, match: 'any' as const, conditions: [{ field: 'systolic', op: '>' as const, value: 180 }] }] };
    let live: Alert | undefined;
    const seen: string[] = [];
    const steps: [number, Finding][] = [
      [0, abnormal('warning', T)],
      [40, clear(T + 40 * MIN)], // 165
      [80, band(T + 80 * MIN)], // 178: inside the 10 mmHg band
      [120, clear(T + 120 * MIN)], // 168: the timer starts again here, not at 165
    ];
    for (const [, finding] of steps) {
      const d = decide(live, finding, { rule: r, late: false });
      seen.push(d.kind);
      if (d.kind === 'open') live = alert({ severity: 'warning', ruleId: 'x' });
      if (d.kind === 'clearing') live = { ...live!, clearSince: d.since };
      if (d.kind === 'band') live = { ...live!, clearSince: null };
    }
    expect(seen).toEqual(['open', 'clearing', 'band', 'clearing']);
    expect(decide(live, clear(T + 170 * MIN), { rule: r, late: false }).kind).toBe('none');
    expect(decide(live, clear(T + 181 * MIN), { rule: r, late: false }).kind).toBe('resolve');
  });
});

describe('escalation and reminders', () => {
  const policy: TimerPolicy = { escalateAfterMs: 15 * MIN, maxEscalationLevel: 3, realertMs: { critical: 4 * HOUR, warning: 24 * HOUR, info: 0 } };
  it('escalates an open critical every period from its last notification, up to level 3', () => {
    expect(dueEscalation(alert(), T + 14 * MIN, policy)).toBeUndefined();
    expect(dueEscalation(alert(), T + 15 * MIN, policy)).toBe(1);
    expect(dueEscalation(alert({ escalationLevel: 1 }), T + 29 * MIN, policy)).toBeUndefined();
    expect(dueEscalation(alert({ escalationLevel: 1 }), T + 30 * MIN, policy)).toBe(2);
    expect(dueEscalation(alert({ escalationLevel: 3 }), T + 10 * HOUR, policy)).toBeUndefined();
    expect(dueEscalation(alert({ notifiedAt: T + HOUR }), T + HOUR + 15 * MIN, policy)).toBe(1);
  });
  it('does not escalate what a person acknowledged, a warning, or late data', () => {
    expect(dueEscalation(alert(acked), T + HOUR, policy)).toBeUndefined();
    expect(dueEscalation(alert({ severity: 'warning' }), T + HOUR, policy)).toBeUndefined();
    expect(dueEscalation(alert({ late: true }), T + HOUR, policy)).toBeUndefined();
  });
  it('reminds about an acknowledged condition that persists, after the re-alert interval of its severity', () => {
    expect(dueReminder(alert(acked), T + MIN + 4 * HOUR - 1, policy)).toBe(false);
    expect(dueReminder(alert(acked), T + MIN + 4 * HOUR, policy)).toBe(true);
    expect(dueReminder(alert({ ...acked, severity: 'warning' }), T + MIN + 4 * HOUR, policy)).toBe(false);
    expect(dueReminder(alert({ ...acked, severity: 'warning' }), T + MIN + 24 * HOUR, policy)).toBe(true);
    expect(dueReminder(alert({ ...acked, severity: 'info' }), T + 100 * HOUR, policy)).toBe(false);
    // Back in range is not "persists"; an open alert needs no reminder (it escalates instead).
    expect(dueReminder(alert({ ...acked, clearSince: T + 2 * MIN }), T + 5 * HOUR, policy)).toBe(false);
    expect(dueReminder(alert(), T + 5 * HOUR, policy)).toBe(false);
    // An acknowledged fall is over: the next fall notifies on its own.
    expect(dueReminder(alert({ ...acked, ruleId: 'fall.detected' }), T + 5 * HOUR, policy, 'event')).toBe(false);
  });
});
