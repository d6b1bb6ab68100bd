/**
 * The live alerts, by patient, rule and subject, in memory: a clear finding with no live alert needs no database
 * work. Held per patient, so that the question asked of every normal reading ("is there a live alert to clear?")
 * is one lookup of the patient, with no key built, for the many patients with no live alert at all.
 */
export class LiveKeys {
  readonly #byPatient = new Map<string, Set<string>>();

  /** Forgets every key: before they are loaded again from the table (a batch of transitions rolled back). */
  clear(): void {
    this.#byPatient.clear();
  }

  has(patientId: string, ruleId: string, subject: string): boolean {
    const keys = this.#byPatient.get(patientId);
    return keys !== undefined && keys.has(ruleKey(ruleId, subject));
  }

  add(patientId: string, ruleId: string, subject: string): void {
    let keys = this.#byPatient.get(patientId);
    if (!keys) this.#byPatient.set(patientId, (keys = new Set()));
    keys.add(ruleKey(ruleId, subject));
  }

  delete(patientId: string, ruleId: string, subject: string): void {
    const keys = this.#byPatient.get(patientId);
    if (!keys) return;
    keys.delete(ruleKey(ruleId, subject));
    if (keys.size === 0) this.#byPatient.delete(patientId);
  }
}

function ruleKey(ruleId: string, subject: string): string {
  return `${ruleId}\u0000${subject}`;
}
