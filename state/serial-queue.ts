/**
 * Asynchronous work run one piece after another, in the order it was queued: a replica's fetches and its own
 * read-backs must apply in the order they began. A failure belongs to the caller of that piece; the queue goes on.
 */
export class SerialQueue {
  #tail: Promise<void> = Promise.resolve();

  run(work: () => Promise<void>): Promise<void> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Resolves once everything queued so far has run. */
  idle(): Promise<void> {
    return this.#tail;
  }
}
