/**
 * Global back-pressure for readings: at most `maxBytes` of payload between arrival and PUBACK, across all
 * devices. Past it, a publish waits its turn (first come, first served) before it is parsed. aedes reads a
 * connection's next packets only once the current ones are handled, so a waiting publish also stops its
 * connection from being read: the excess stays in the devices and the kernel's socket buffers, not in Vigil's
 * heap, and devices see slower PUBACKs instead of the server running out of memory.
 */
export class Admission {
  readonly #maxBytes: number;
  #inFlight = 0;
  readonly #waiting: { bytes: number; admit: () => void }[] = [];

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  get inFlightBytes(): number {
    return this.#inFlight;
  }

  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Takes `bytes` at once when they may proceed now (nothing waiting, room left or nothing in flight); the caller
   * then owes one `release(bytes)`. The gateway's path for every publish: no promise or closure when not waiting.
   */
  tryEnter(bytes: number): boolean {
    // Alone, even an oversized message passes: otherwise it could never be admitted.
    if (this.#waiting.length > 0 || (this.#inFlight + bytes > this.#maxBytes && this.#inFlight > 0)) return false;
    this.#inFlight += bytes;
    return true;
  }

  /** Resolves when `bytes` have been taken, in arrival order behind the publishes already waiting; then `release(bytes)`. */
  async wait(bytes: number): Promise<void> {
    if (this.tryEnter(bytes)) return;
    await new Promise<void>((admit) => this.#waiting.push({ bytes, admit }));
  }

  /** Gives back `bytes` taken by `tryEnter` or `wait` (once per admission), and admits the publishes now fitting. */
  release(bytes: number): void {
    this.#inFlight -= bytes;
    this.#admitWaiting();
  }

  /** Resolves when `bytes` may proceed; call the returned function when they are done (acknowledged or refused). */
  async enter(bytes: number): Promise<() => void> {
    await this.wait(bytes);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(bytes);
    };
  }

  #admitWaiting(): void {
    for (;;) {
      const next = this.#waiting[0];
      if (!next || (this.#inFlight + next.bytes > this.#maxBytes && this.#inFlight > 0)) return;
      this.#waiting.shift();
      this.#inFlight += next.bytes;
      next.admit();
    }
  }
}
