/**
 * Which accesses to patient data are repeats, decided by the server: the same person, in the same session,
 * viewing the same thing within `windowMs` (the page's own refreshes of a record on screen). Everything else
 * is written to the audit log. No client header can make an access a repeat: a client that claims to be
 * refreshing a patient it never opened is audited like any other view.
 */
export class RepeatViews {
  readonly #windowMs: number;
  readonly #max: number;
  /** Key -> when the access was last audited. */
  readonly #seen = new Map<string, number>();

  constructor(windowMs = 10 * 60_000, max = 100_000) {
    this.#windowMs = windowMs;
    this.#max = max;
  }

  /** True when this access must be audited (and from now on counts as seen). */
  audit(key: string, now: number): boolean {
    const at = this.#seen.get(key);
    if (at !== undefined && now - at < this.#windowMs) return false;
    if (this.#seen.size >= this.#max) this.#forgetExpired(now);
    this.#seen.delete(key);
    this.#seen.set(key, now);
    return true;
  }

  #forgetExpired(now: number): void {
    for (const [key, at] of this.#seen) if (now - at >= this.#windowMs) this.#seen.delete(key);
    // Still full (a flood of distinct accesses): forget everything; the worst case is an extra audit row.
    if (this.#seen.size >= this.#max) this.#seen.clear();
  }
}
