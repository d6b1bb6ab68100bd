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

  /** Resolves when `bytes` may proceed; call the returned function when they are done (acknowledged or refused). */
  async enter(bytes: number): Promise<() => void> {
    // Alone, even an oversized message passes: otherwise it could never be admitted.
    if (this.#waiting.length === 0 && (this.#inFlight + bytes <= this.#maxBytes || this.#inFlight === 0)) {
      this.#inFlight += bytes;
    } else {
      await new Promise<void>((admit) => this.#waiting.push({ bytes, admit }));
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#inFlight -= bytes;
      this.#admitWaiting();
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
