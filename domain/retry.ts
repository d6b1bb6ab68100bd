/**
 * The retry loop the shipper (reading store) and the webhook sender (alert receiver) share: capped exponential
 * backoff with jitter, a pause that new work or a stop can cut short, and a step restarted after a failure.
 */
export interface Backoff {
  readonly minMs: number;
  readonly maxMs: number;
  /**
   * "Equal jitter": wait between half and all of the capped delay, so that many retries started by one outage
   * do not arrive together when it ends. Off: exactly the capped delay.
   */
  readonly jitter?: boolean;
}

/** The wait before retry number `attempt` (0 for the first retry): min * 2^attempt, capped at max. */
export function backoffDelay(attempt: number, backoff: Backoff): number {
  const cap = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(attempt, 30));
  return backoff.jitter === false ? cap : cap / 2 + Math.random() * (cap / 2);
}

/** A sleep that `wake()` ends at once: a retry loop waits, and new work (or a stop) need not wait with it. */
export class Pause {
  #wake: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        if (this.#wake === done) this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.#wake = done;
    });
  }

  /** Ends the current sleep, if any. */
  wake(): void {
    this.#wake?.();
  }
}

/**
 * Runs `step` until it returns or `running()` turns false. A step that throws is reported and run again after a
 * backoff (its failures counted from the start): for loops that must never give up, such as draining
 * acknowledged readings or delivering alerts.
 */
export async function runWithRetry(
  step: () => Promise<void>,
  options: { readonly running: () => boolean; readonly onFailure: (err: unknown) => void; readonly backoff: Backoff; readonly pause: Pause },
): Promise<void> {
  for (let failures = 0; options.running(); failures++) {
    try {
      await step();
      return;
    } catch (err) {
      options.onFailure(err);
      await options.pause.sleep(backoffDelay(failures, options.backoff));
    }
  }
}
