import { VigilError } from '../../domain/index.js';

/**
 * Bounds concurrent password checks. scrypt runs on libuv's thread pool, which the outbox's fdatasync also
 * needs: a login flood (within each address's rate limit, from many addresses) would otherwise occupy every
 * thread and hold devices' acknowledgements for seconds. At most `concurrent` checks run (leaving the other
 * pool threads to file I/O), `queued` wait, and beyond that a login is refused at once with 503 (try again).
 */
export class PasswordGate {
  readonly #concurrent: number;
  readonly #queued: number;
  #running = 0;
  readonly #waiting: (() => void)[] = [];

  constructor(concurrent = 2, queued = 16) {
    this.#concurrent = concurrent;
    this.#queued = queued;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.#running >= this.#concurrent) {
      if (this.#waiting.length >= this.#queued) throw new VigilError('VIGIL_ERR_BUSY', 'too many logins at this moment: try again in a few seconds');
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running += 1;
    }
    try {
      return await work();
    } finally {
      // Hand the slot straight to the next in line, or free it.
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running -= 1;
    }
  }
}
