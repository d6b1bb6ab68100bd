import { VigilError } from '../domain/index.js';
import { actorName, type Actor, type AuditLog } from '../state/index.js';
import type { AlertFeed } from './feed.js';
import { findRule } from './rules/catalogue.js';
import { applyOverride, baseRules } from './rules/effective.js';
import { assertKnownOverrideKeys } from './rules/override-keys.js';
import { findPreset } from './rules/presets.js';
import type { RuleResolver } from './rules/resolver.js';
import { ruleOverrideSchema, severityRank, type Rule, type RuleOverride, type Severity } from './rules/schema.js';
import type { AlertChanges, AlertTable } from './store/alert-table.js';
import type { Transitions } from './lifecycle/transitions.js';
import type { SharedRuleSettings } from './shared/shared-settings.js';
import type { RuleSettings } from './store/rule-settings.js';
import type { Alert, AlertEventType } from './types.js';
import type { PatientDirectory } from './evaluation.js';

export interface ActionDeps {
  readonly table: AlertTable;
  /** Where an alert's transition commits: the table itself, or PostgreSQL with shared alerts. */
  readonly transitions: Transitions;
  /** With shared alerts: overrides and snoozes change in PostgreSQL (every instance's evaluation uses them). */
  readonly sharedSettings?: SharedRuleSettings | undefined;
  readonly settings: RuleSettings;
  readonly resolver: RuleResolver;
  readonly feed: AlertFeed;
  readonly audit: AuditLog;
  readonly directory: Pick<PatientDirectory, 'patient'>;
  /** The longest a snooze may last. */
  readonly maxSnoozeMs: number;
  readonly now: () => number;
}

export interface OverrideOptions {
  /** Why: shown on the patient page and kept in the audit log. Required. */
  readonly reason: string;
  /** When the override stops applying (epoch ms); absent: until removed. */
  readonly expiresAt?: number | undefined;
}

function requireReason(reason: string | undefined, what: string): string {
  const trimmed = reason?.trim();
  if (!trimmed) throw new VigilError('VIGIL_ERR_CONFIG', `${what} needs a reason (shown on the patient page and kept in the audit log)`);
  if (trimmed.length > 2000) throw new VigilError('VIGIL_ERR_CONFIG', `${what}: the reason is longer than 2000 characters`);
  return trimmed;
}

function hours(ms: number): string {
  return `${Math.round((ms / 3_600_000) * 10) / 10} h`;
}

/**
 * What people do to alerts and rules: acknowledge, resolve, snooze, override. Each action and its audit entry
 * commit in one transaction; the feed then emits the transition.
 */
export class AlertActions {
  readonly #d: ActionDeps;

  constructor(deps: ActionDeps) {
    this.#d = deps;
  }

  /**
   * "I am on it". A critical alert already back in range (latched) has nothing left to wait for: acknowledging
   * it also resolves it.
   */
  acknowledge(alertId: number, by: Actor, note?: string): Promise<Alert> {
    return this.#act(alertId, by, 'alert.acknowledged', note, (alert, now) => {
      if (alert.status !== 'open') throw new VigilError('VIGIL_ERR_CONFLICT', `alert ${alertId} is ${alert.status}`);
      const acknowledged = { status: 'acknowledged' as const, acknowledgedAt: now, acknowledgedBy: actorName(by), acknowledgeNote: note ?? null, updatedAt: now };
      if (alert.backInRangeAt === null) return [acknowledged];
      const resolveNote = `back in range since ${new Date(alert.clearSince ?? alert.backInRangeAt).toISOString()}; acknowledged`;
      return [acknowledged, { status: 'resolved' as const, resolvedAt: now, resolvedBy: actorName(by), resolveNote, updatedAt: now }];
    });
  }

  resolve(alertId: number, by: Actor, note?: string): Promise<Alert> {
    return this.#act(alertId, by, 'alert.resolved', note, (alert, now) => {
      if (alert.status === 'resolved') throw new VigilError('VIGIL_ERR_CONFLICT', `alert ${alertId} is already resolved`);
      return [{ status: 'resolved', resolvedAt: now, resolvedBy: actorName(by), resolveNote: note ?? null, updatedAt: now }];
    });
  }

  /**
   * One action's transition and its audit entry, committed together on the embedded database; with shared alerts
   * the audit entry follows the commit. Embedded, the work is done when this returns (the promise only settles it).
   */
  async #act(alertId: number, by: Actor, type: AlertEventType, note: string | undefined, change: (alert: Alert, now: number) => AlertChanges[]): Promise<Alert> {
    const now = this.#d.now();
    const result = await this.#d.transitions.run({
      select: () => this.#d.table.get(alertId),
      build: (alert, writes) => {
        if (!alert) throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${alertId} does not exist`);
        let updated = alert;
        for (const [i, step] of change(alert, now).entries()) {
          updated = writes.update(alertId, step);
          writes.addEvent(i === 0 ? type : 'alert.resolved', updated, now, actorName(by));
        }
        return updated;
      },
      committed: (updated) => this.#d.audit.record(by, type, updated.patientId, `alert:${alertId}`, note ? { note } : undefined, now),
    });
    this.#d.feed.drain();
    return result;
  }

  /**
   * Silences one rule for one patient, for a bounded time, with a reason, up to a severity tier: the live
   * alert's severity, or the rule's highest tier below critical. A worse finding breaks through, and a critical
   * one always does: no snooze silences a guideline critical limit.
   */
  snooze(patientId: string, ruleId: string, until: number, by: Actor, reason: string | undefined): Promise<{ until: number; tier: Severity }> {
    const rule = this.#patientRule(patientId, ruleId);
    const note = requireReason(reason, 'a snooze');
    const now = this.#d.now();
    if (until <= now) throw new VigilError('VIGIL_ERR_CONFIG', 'a snooze must end in the future');
    if (until - now > this.#d.maxSnoozeMs) {
      throw new VigilError('VIGIL_ERR_CONFIG', `a snooze may last at most ${hours(this.#d.maxSnoozeMs)} (VIGIL_ALERT_SNOOZE_MAX_HOURS); this one would last ${hours(until - now)}`);
    }
    const tier = this.#snoozeTier(patientId, rule);
    const snooze = { ruleId, until, actor: actorName(by), note, tier };
    return this.#changeSettings(
      patientId,
      { until, tier },
      () => (this.#d.settings.snooze(patientId, snooze, now), true),
      async (shared) => (await shared.snooze(patientId, { ...snooze, at: now }), true),
      () => this.#d.audit.record(by, 'rule.snooze', patientId, ruleId, { until: new Date(until).toISOString(), tier, reason: note }, now),
    );
  }

  /**
   * A change to a patient's overrides or snoozes and its audit entry: in one transaction on the embedded database
   * (done when this returns), or in PostgreSQL first with shared alerts, then audited here. `change` answers
   * whether anything changed (nothing to audit otherwise).
   */
  #changeSettings<T>(patientId: string, result: T, local: () => boolean, shared: (settings: SharedRuleSettings) => Promise<boolean>, audit: () => void): Promise<T> {
    const { sharedSettings } = this.#d;
    if (!sharedSettings) {
      this.#d.table.transaction(() => {
        if (local()) audit();
      });
      this.#d.resolver.invalidate(patientId);
      return Promise.resolve(result);
    }
    return shared(sharedSettings).then((changed) => {
      if (changed) audit();
      this.#d.resolver.invalidate(patientId);
      return result;
    });
  }

  #snoozeTier(patientId: string, rule: Rule): Severity {
    const severities = rule.kind === 'threshold' ? rule.tiers.map((t) => t.severity) : [rule.severity];
    const below = severities.filter((s) => s !== 'critical').sort((a, b) => severityRank(b) - severityRank(a));
    if (below.length === 0) {
      throw new VigilError('VIGIL_ERR_SAFETY_FLOOR', `${rule.id} raises only critical alerts (a guideline critical limit): it cannot be snoozed; acknowledge the alert instead`);
    }
    const live = this.#d.table.list({ status: 'live', patientId }).find((a) => a.ruleId === rule.id && a.severity !== 'critical');
    return live && severityRank(live.severity) < severityRank(below[0]!) ? live.severity : below[0]!;
  }

  unsnooze(patientId: string, ruleId: string, by: Actor): Promise<void> {
    const now = this.#d.now();
    return this.#changeSettings(
      patientId,
      undefined,
      () => this.#d.settings.unsnooze(patientId, ruleId),
      (shared) => shared.unsnooze(patientId, ruleId),
      () => this.#d.audit.record(by, 'rule.unsnooze', patientId, ruleId, undefined, now),
    );
  }

  /**
   * Changes a rule's values for one patient, with a reason and an optional expiry; refused if it names a value the
   * rule does not have (VIGIL_ERR_CONFIG), validated as a whole rule and against the rule's safety floor
   * (VIGIL_ERR_SAFETY_FLOOR says which line it would lose). Effective from the next reading.
   */
  setOverride(patientId: string, ruleId: string, override: RuleOverride, by: Actor, options: OverrideOptions, preset?: string): Promise<Rule> {
    const base = this.#baseRule(patientId, ruleId);
    const parsed = ruleOverrideSchema.safeParse(override);
    if (!parsed.success) throw new VigilError('VIGIL_ERR_CONFIG', parsed.error.issues[0]?.message ?? 'invalid override');
    const reason = requireReason(options.reason, 'an override');
    assertKnownOverrideKeys(base, parsed.data);
    const effective = applyOverride(base, parsed.data);
    const now = this.#d.now();
    if (options.expiresAt !== undefined && options.expiresAt <= now) throw new VigilError('VIGIL_ERR_CONFIG', 'an override must expire in the future');
    const stored = { ruleId, override: parsed.data, actor: actorName(by), reason, expiresAt: options.expiresAt ?? null, preset: preset ?? null };
    const expires = options.expiresAt === undefined ? undefined : new Date(options.expiresAt).toISOString();
    return this.#changeSettings(
      patientId,
      effective,
      () => (this.#d.settings.setOverride(patientId, stored, now), true),
      async (shared) => (await shared.setOverride(patientId, { ...stored, override: JSON.stringify(stored.override), at: now }), true),
      () => this.#d.audit.record(by, 'rule.override', patientId, ruleId, { override: parsed.data, reason, expiresAt: expires, preset }, now),
    );
  }

  /** Applies a named, sourced preset (e.g. `spo2.copd_target`) as the patient's override of its rule. */
  applyPreset(patientId: string, presetId: string, by: Actor, options: Partial<OverrideOptions> = {}): Promise<Rule> {
    const preset = findPreset(presetId);
    if (!preset) throw new VigilError('VIGIL_ERR_NOT_FOUND', `preset ${presetId} does not exist`);
    const reason = options.reason?.trim() || `${preset.title} (${preset.source})`;
    return this.setOverride(patientId, preset.ruleId, preset.override, by, { reason, expiresAt: options.expiresAt }, preset.id);
  }

  clearOverride(patientId: string, ruleId: string, by: Actor): Promise<void> {
    const now = this.#d.now();
    return this.#changeSettings(
      patientId,
      undefined,
      () => this.#d.settings.clearOverride(patientId, ruleId),
      (shared) => shared.clearOverride(patientId, ruleId),
      () => this.#d.audit.record(by, 'rule.reset', patientId, ruleId, undefined, now),
    );
  }

  /** The rule as it applies to this patient before their own override (defaults and programmes). */
  #baseRule(patientId: string, ruleId: string): Rule {
    const patient = this.#d.directory.patient(patientId);
    if (!patient) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist`);
    if (!findRule(ruleId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `rule ${ruleId} does not exist`);
    return baseRules(patient.programmes).get(ruleId) ?? findRule(ruleId)!;
  }

  /** The rule as it applies to this patient now (their override included). */
  #patientRule(patientId: string, ruleId: string): Rule {
    const base = this.#baseRule(patientId, ruleId);
    return this.#d.resolver.rulesFor(patientId).find((r) => r.id === ruleId) ?? base;
  }
}
