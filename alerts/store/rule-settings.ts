import type { Snooze, StoredRuleOverride } from '../../domain/index.js';
import type { StateDb } from '../../state/index.js';
import type { Severity } from '../rules/schema.js';

/** A per-patient change to a rule, with who made it, why, and until when (domain/api/rule.ts). */
export type StoredOverride = Readonly<StoredRuleOverride>;

/** A bounded silence on one rule for one patient, up to a severity tier, never critical (domain/api/rule.ts). */
export type StoredSnooze = Readonly<Snooze>;

interface OverrideRow {
  rule_id: string;
  override: string;
  actor: string;
  updated_at: number;
  note: string | null;
  expires_at: number | null;
  preset: string | null;
}

/** Per-patient rule overrides and snoozes, in the state database. */
export class RuleSettings {
  readonly #s;

  constructor(db: StateDb) {
    this.#s = {
      overrides: db.prepare<[string, number], OverrideRow>(
        'SELECT rule_id, override, actor, updated_at, note, expires_at, preset FROM rule_overrides WHERE patient_id = ? AND (expires_at IS NULL OR expires_at > ?) ORDER BY rule_id',
      ),
      inForce: db.prepare<[number], OverrideRow & { patient_id: string }>(
        'SELECT patient_id, rule_id, override, actor, updated_at, note, expires_at, preset FROM rule_overrides WHERE expires_at IS NULL OR expires_at > ? ORDER BY patient_id, rule_id',
      ),
      expired: db.prepare<[number], OverrideRow & { patient_id: string }>(
        'SELECT patient_id, rule_id, override, actor, updated_at, note, expires_at, preset FROM rule_overrides WHERE expires_at IS NOT NULL AND expires_at <= ?',
      ),
      setOverride: db.prepare(
        'INSERT OR REPLACE INTO rule_overrides (patient_id, rule_id, override, actor, updated_at, note, expires_at, preset) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      clearOverride: db.prepare('DELETE FROM rule_overrides WHERE patient_id = ? AND rule_id = ?'),
      withPreset: db.prepare<[string, number], { patient_id: string }>(
        'SELECT DISTINCT patient_id FROM rule_overrides WHERE preset = ? AND (expires_at IS NULL OR expires_at > ?)',
      ),
      snoozed: db.prepare<[string, string], { until: number; tier: Severity }>('SELECT until, tier FROM alert_snoozes WHERE patient_id = ? AND rule_id = ?'),
      snoozedAll: db.prepare<[number], { patient_id: string; rule_id: string; tier: Severity }>('SELECT patient_id, rule_id, tier FROM alert_snoozes WHERE until > ?'),
      snooze: db.prepare(
        'INSERT OR REPLACE INTO alert_snoozes (patient_id, rule_id, until, actor, note, created_at, tier) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      unsnooze: db.prepare('DELETE FROM alert_snoozes WHERE patient_id = ? AND rule_id = ?'),
      snoozes: db.prepare(
        'SELECT rule_id AS ruleId, until, actor, note, created_at AS createdAt, tier FROM alert_snoozes WHERE patient_id = ? AND until > ? ORDER BY rule_id',
      ),
    };
  }

  /** The patient's overrides in force at `now` (expired ones no longer apply). */
  overrides(patientId: string, now: number): StoredOverride[] {
    return this.#s.overrides.all(patientId, now).flatMap(parseOverride);
  }

  /** Every patient's overrides in force at `now`, by patient (the sweep resolves every patient's rules at once). */
  overridesInForce(now: number): Map<string, StoredOverride[]> {
    const byPatient = new Map<string, StoredOverride[]>();
    for (const row of this.#s.inForce.all(now)) {
      const own = byPatient.get(row.patient_id);
      if (own) own.push(...parseOverride(row));
      else byPatient.set(row.patient_id, parseOverride(row));
    }
    return byPatient;
  }

  /** The patients with an override from this preset in force at `now`. */
  patientsWithPreset(presetId: string, now: number): Set<string> {
    return new Set(this.#s.withPreset.all(presetId, now).map((r) => r.patient_id));
  }

  /** Overrides whose expiry has passed, to be removed (and audited) by the sweep. */
  expiredOverrides(now: number): (StoredOverride & { patientId: string })[] {
    return this.#s.expired.all(now).flatMap((r) => parseOverride(r).map((o) => ({ ...o, patientId: r.patient_id })));
  }

  setOverride(patientId: string, o: Omit<StoredOverride, 'updatedAt'>, at: number): void {
    this.#s.setOverride.run(patientId, o.ruleId, JSON.stringify(o.override), o.actor, at, o.reason, o.expiresAt, o.preset);
  }

  clearOverride(patientId: string, ruleId: string): boolean {
    return this.#s.clearOverride.run(patientId, ruleId).changes > 0;
  }

  /** The snooze in force at `now`, if any. */
  snoozed(patientId: string, ruleId: string, now: number): { until: number; tier: Severity } | undefined {
    const row = this.#s.snoozed.get(patientId, ruleId);
    return row && row.until > now ? row : undefined;
  }

  /** Every snooze in force at `now`: its tier by patient and rule (`${patientId}\u0000${ruleId}`), for the sweep. */
  snoozedTiers(now: number): Map<string, Severity> {
    return new Map(this.#s.snoozedAll.all(now).map((r) => [`${r.patient_id}\u0000${r.rule_id}`, r.tier]));
  }

  snooze(patientId: string, s: Omit<StoredSnooze, 'createdAt'>, at: number): void {
    this.#s.snooze.run(patientId, s.ruleId, s.until, s.actor, s.note, at, s.tier);
  }

  unsnooze(patientId: string, ruleId: string): boolean {
    return this.#s.unsnooze.run(patientId, ruleId).changes > 0;
  }

  snoozes(patientId: string, now: number): StoredSnooze[] {
    return this.#s.snoozes.all(patientId, now) as StoredSnooze[];
  }
}

/**
 * A row as an override; a row that is not a JSON object (edited by hand) is skipped, so the patient keeps the
 * default rule: one bad row must not stop rule resolution, or the sweep, for everyone.
 */
function parseOverride(r: OverrideRow): StoredOverride[] {
  try {
    const override = JSON.parse(r.override) as unknown;
    return override && typeof override === 'object' && !Array.isArray(override) ? [toOverride(r, override as Record<string, unknown>)] : [];
  } catch {
    return [];
  }
}

function toOverride(r: OverrideRow, override: Record<string, unknown>): StoredOverride {
  return {
    ruleId: r.rule_id,
    override,
    actor: r.actor,
    updatedAt: r.updated_at,
    reason: r.note ?? null,
    expiresAt: r.expires_at ?? null,
    preset: r.preset ?? null,
  };
}
