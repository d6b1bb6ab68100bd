import type { DeviceStatusChange, Registry } from '../registry/index.js';

/**
 * Device status changes (online, offline, status messages), written to the registry in one transaction per
 * batch rather than one per message. Device state is bookkeeping: a write that fails (disk full) is reported to
 * `onError` and intake goes on.
 */
export class StatusBatch {
  readonly #registry: Pick<Registry, 'recordStatusChanges'>;
  readonly #onError: (err: Error) => void;
  readonly #delayMs: number;
  #changes: DeviceStatusChange[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(registry: Pick<Registry, 'recordStatusChanges'>, onError: (err: Error) => void, delayMs = 100) {
    this.#registry = registry;
    this.#onError = onError;
    this.#delayMs = delayMs;
  }

  note(change: DeviceStatusChange): void {
    this.#changes.push(change);
    this.#timer ??= setTimeout(() => this.flush(), this.#delayMs);
  }

  /** Writes what is waiting now (also at close). */
  flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#changes;
    this.#changes = [];
    if (batch.length === 0) return;
    try {
      this.#registry.recordStatusChanges(batch);
    } catch (err) {
      this.#onError(err as Error);
    }
  }
}
