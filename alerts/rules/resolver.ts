import type { Programme } from '../../domain/index.js';
import type { RuleSettings } from '../store/rule-settings.js';
import { effectiveRules } from './effective.js';
import type { Rule, RuleOverride } from './schema.js';

export interface RulePatient {
  readonly id: string;
  readonly programmes: readonly Programme[];
}

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

  #entry(patientId: string): { patient: P | undefined; rules: Rule[] } {
    const now = this.#now();
    // An override made by another process (the CLI) applies from the next reading, not a second later.
    if (this.#changedElsewhere(now)) this.#byPatient.clear();
    const cached = this.#byPatient.get(patientId);
    if (cached && now - cached.at < 1000 && now >= cached.at) return cached;
    const patient = this.#patient(patientId);
    const entry = { at: now, patient, rules: patient ? this.#resolve(patient, now) : [] };
    if (this.#byPatient.size > 100_000) this.#byPatient.clear();
    this.#byPatient.set(patientId, entry);
    return entry;
  }

  /** Forget a patient's cached rules (their overrides just changed in this process). */
  invalidate(patientId: string): void {
    this.#byPatient.delete(patientId);
  }

  #resolve(patient: RulePatient, now: number): Rule[] {
    const overrides = new Map<string, RuleOverride>(this.#settings.overrides(patient.id, now).map((o) => [o.ruleId, o.override]));
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
