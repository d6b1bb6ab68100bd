import { VigilError } from '../domain/index.js';
import type { IngestOutcome } from './intake.js';
import type { RejectionLog, ReplayResult } from './rejection-log.js';

export interface RejectionReplayOptions {
  readonly rejections: RejectionLog;
  /** The intake a device publish goes through: validation again, duplicate detection, the outbox. */
  readonly intake: { handleReadings(deviceId: string, payload: Buffer): Promise<IngestOutcome> };
  /** A revoked device's readings are not replayed: its credentials may have been stolen, its payloads hostile. */
  readonly isRevoked: (deviceId: string) => boolean;
  /** Records each replay in the audit log (who asked is recorded when it is asked). */
  readonly audit: (rejectionId: number, deviceId: string, result: ReplayResult) => void;
  readonly log: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
  readonly intervalMs?: number;
}

/**
 * Carries out the replays an operator asked for (`vigil rejections replay`, which marks rows in the state
 * database): each kept payload goes through intake exactly as if its device had published it again, so it is
 * validated again (a reading refused because the server's clock was slow passes once the clock is right), and
 * duplicate detection stores a reading once however often it is replayed. Runs in the server, which owns the
 * outbox; one indexed query every few seconds when idle.
 */
export class RejectionReplay {
  readonly #o: RejectionReplayOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | undefined;
  #stopped = false;

  constructor(options: RejectionReplayOptions) {
    this.#o = options;
  }

  start(): void {
    const tick = () => {
      this.#timer = undefined;
      void this.runOnce()
        .catch((err: unknown) => this.#o.log.warn({ err }, 'rejection replay failed; will retry'))
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#o.intervalMs ?? 2_000);
        });
    };
    this.#timer = setTimeout(tick, this.#o.intervalMs ?? 2_000);
  }

  /** Replays what is pending now; returns how many publishes were replayed. */
  runOnce(): Promise<number> {
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
    return this.#running;
  }

  async #drain(): Promise<number> {
    let done = 0;
    for (;;) {
      const pending = this.#o.rejections.pendingReplays();
      if (pending.length === 0 || this.#stopped) break;
      for (const p of pending) {
        let result: ReplayResult;
        try {
          if (this.#o.isRevoked(p.deviceId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', 'device revoked');
          const outcome = await this.#o.intake.handleReadings(p.deviceId, p.payload);
          result = { accepted: outcome.accepted, duplicates: outcome.duplicates, rejected: outcome.rejections.length };
        } catch (err) {
          // The outbox cannot take readings now: leave the request pending, try again on the next round.
          if (err instanceof VigilError && err.code === 'VIGIL_ERR_OUTBOX_UNAVAILABLE') throw err;
          // The device was removed, or something unexpected: recorded on the row, not retried without end.
          if (!(err instanceof VigilError)) this.#o.log.warn({ err, rejectionId: p.id }, 'replay of a rejected publish failed');
          result = { accepted: 0, duplicates: 0, rejected: 0, error: err instanceof VigilError ? err.code : (err as Error).message.slice(0, 200) };
        }
        this.#o.rejections.markReplayed(p.id, result);
        this.#o.audit(p.id, p.deviceId, result);
        done += 1;
      }
    }
    if (done > 0) this.#o.log.info({ publishes: done }, 'rejected publishes replayed');
    return done;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
  }
}
