/**
 * The newest measurement time among the readings each device has had added to the duplicate window. A reading
 * measured after it cannot repeat anything the window holds (a key names its device and time), so intake skips
 * the window's lookup for it: the usual case, as devices send in time order. A lookup that misses asks each of the
 * window's 16 generations (it cost about 3 µs a reading inside a loaded process when there were two tables of
 * 100,000 keys: docs/benchmarks.md, "A fifth look").
 *
 * Only ever raised, never lowered when a key leaves the window or a commit fails: an upper bound stays safe, it
 * merely sends more readings to the lookup. One number per device that has published since start.
 */
export class NewestTimes {
  readonly #times = new Map<string, number>();

  /** The newest time noted for the device; -Infinity when none. */
  of(deviceId: string): number {
    return this.#times.get(deviceId) ?? Number.NEGATIVE_INFINITY;
  }

  note(deviceId: string, time: number): void {
    if (time > this.of(deviceId)) this.#times.set(deviceId, time);
  }
}
