/**
 * When each device last uploaded, written to the registry in one transaction every few seconds (as the MQTT
 * gateway does), so that the patient page's "last seen" covers Nightscout uploaders without a disk write per
 * request. Bookkeeping: a failed write is reported and tried again with the next batch.
 */
export class LastSeenBatch {
  readonly #pending = new Map<string, number>();
  readonly #write: (entries: [deviceId: string, at: number][]) => void;
  readonly #onError: (err: unknown) => void;
  readonly #timer: NodeJS.Timeout;

  constructor(write: (entries: [deviceId: string, at: number][]) => void, onError: (err: unknown) => void, everyMs = 2_000) {
    this.#write = write;
    this.#onError = onError;
    this.#timer = setInterval(() => this.flush(), everyMs);
    this.#timer.unref();
  }

  note(deviceId: string, at: number): void {
    this.#pending.set(deviceId, at);
  }

  flush(): void {
    if (this.#pending.size === 0) return;
    try {
      this.#write([...this.#pending]);
      this.#pending.clear();
    } catch (err) {
      this.#onError(err);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    this.flush();
  }
}
