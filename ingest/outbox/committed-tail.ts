import type { Reading } from '../../domain/index.js';
import type { Position } from './segments.js';

interface Commit {
  readonly at: Position;
  readonly next: Position;
  readonly readings: readonly Reading[];
}

const samePosition = (a: Position, b: Position) => a.segment === b.segment && a.offset === b.offset;
const before = (a: Position, b: Position) => a.segment < b.segment || (a.segment === b.segment && a.offset < b.offset);

/**
 * The readings of the latest commits, kept in memory where the shipper will read them next: a shipper that
 * keeps up (the usual case) takes them from here instead of reading back and decoding the records just written
 * (a JSON parse per reading). The disk stays the truth: anything not here, because the shipper fell behind
 * more than `capacity` readings or the process restarted, is read from the segments as before.
 */
export class CommittedTail {
  readonly #capacity: number;
  #commits: Commit[] = [];
  #held = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** A commit that wrote `readings` from `at`; the next record starts at `next`. */
  push(at: Position, next: Position, readings: readonly Reading[]): void {
    this.#commits.push({ at, next, readings });
    this.#held += readings.length;
    while (this.#held > this.#capacity && this.#commits.length > 0) this.#held -= this.#commits.shift()!.readings.length;
  }

  /**
   * Whole commits from exactly `from`, at most `max` readings in all, or undefined when `from` is not where a
   * held commit starts (the caller reads the disk, which realigns on a commit boundary by the time it catches up).
   */
  take(from: Position, max: number): { records: Reading[]; next: Position } | undefined {
    while (this.#commits.length > 0 && before(this.#commits[0]!.at, from)) this.#held -= this.#commits.shift()!.readings.length;
    const first = this.#commits[0];
    if (!first || !samePosition(first.at, from) || first.readings.length > max) return undefined;
    const records: Reading[] = [];
    let next = from;
    for (const commit of this.#commits) {
      if (!samePosition(commit.at, next) || records.length + commit.readings.length > max) break;
      for (const r of commit.readings) records.push(r);
      next = commit.next;
    }
    return { records, next };
  }

  clear(): void {
    this.#commits = [];
    this.#held = 0;
  }
}
