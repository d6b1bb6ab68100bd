import type { Programme } from '../../domain/index.js';
import type { RuleSettings, StoredOverride } from '../store/rule-settings.js';
import { effectiveRules } from './effective.js';
import type { Rule, RuleOverride } from './schema.js';

export interface RulePatient {
  readonly id: string;
  readonly programmes: readonly Programme[];
}

/** Patients whose rules are cached at most (beyond it the cache starts again). */
const MAX_CACHED = 100_000;

/**
 * The rules of each patient (defaults, programmes, the patient's overrides in force), cached for a second: the
 * CLI changes overrides from another process, and an override's expiry must take effect without a restart.
 */
export class RuleResolver<P extends RulePatient = RulePatient> {
  readonly #patient: (id: string) => P | undefined;
  readonly #settings: RuleSettings;
  readonly #now: () => number;
  /** Resolved rule lists by programmes and overrides: most patients share a handful of combinations. */
  readonly #byShape = new Map<string, Rule[]>();
  readonly #byPatient = new Map<string, { at: number; patient: P | undefined; rules: Rule[] }>();

  /** `changedElsewhere`: another process (the CLI) committed, so cached rules may be stale. */
  readonly #changedElsewhere: (now: number) => boolean;

  constructor(patient: (id: string) => P | undefined, settings: RuleSettings, now: () => number, changedElsewhere: (now: number) => boolean) {
    this.#patient = patient;
    this.#settings = settings;
    this.#now = now;
    this.#changedElsewhere = changedElsewhere;
  }

  rulesFor(patientId: string): Rule[] {
    return this.#entry(patientId).rules;
  }

  /** The patient the rules were resolved for, from the same cache: trend rules need the time zone per batch. */
  patient(patientId: string): P | undefined {
    return this.#entry(patientId).patient;
  }

  /**
   * Resolves the rules of all these patients at once, from the patients given and one read of every override in
   * force: the sweep asks for every patient's rules each run, which one by one cost a read of the patient, of
   * their enrolments and of their overrides each (with 2,000 patients, about a quarter of a sweep's time on the
   * broker's thread).
   */
  prime(patients: readonly P[]): void {
    const now = this.#now();
    if (this.#changedElsewhere(now)) this.#byPatient.clear();
    const overrides = this.#settings.overridesInForce(now);
    if (this.#byPatient.size + patients.length > MAX_CACHED) this.#byPatient.clear();
    for (const patient of patients) {
      if (this.#fresh(this.#byPatient.get(patient.id), now)) continue;
      this.#byPatient.set(patient.id, { at: now, patient, rules: this.#rulesOf(patient, overrides.get(patient.id) ?? []) });
    }
  }

  #entry(patientId: string): { patient: P | undefined; rules: Rule[] } {
    const now = this.#now();
    // An override made by another process (the CLI) applies from the next reading, not a second later.
    if (this.#changedElsewhere(now)) this.#byPatient.clear();
    const cached = this.#byPatient.get(patientId);
    if (this.#fresh(cached, now)) return cached;
    const patient = this.#patient(patientId);
    const entry = { at: now, patient, rules: patient ? this.#rulesOf(patient, this.#settings.overrides(patient.id, now)) : [] };
    if (this.#byPatient.size > MAX_CACHED) this.#byPatient.clear();
    this.#byPatient.set(patientId, entry);
    return entry;
  }

  #fresh<E extends { at: number }>(cached: E | undefined, now: number): cached is E {
    return cached !== undefined && now - cached.at < 1000 && now >= cached.at;
  }

  /** Forget a patient's cached rules (their overrides just changed in this process). */
  invalidate(patientId: string): void {
    this.#byPatient.delete(patientId);
  }

  #rulesOf(patient: RulePatient, inForce: readonly StoredOverride[]): Rule[] {
    const overrides = new Map<string, RuleOverride>(inForce.map((o) => [o.ruleId, o.override]));
    const key = JSON.stringify([patient.programmes, [...overrides]]);
    let rules = this.#byShape.get(key);
    if (!rules) {
      rules = effectiveRules(patient.programmes, overrides);
      if (this.#byShape.size > 1000) this.#byShape.clear();
      this.#byShape.set(key, rules);
    }
    return rules;
  }
}
