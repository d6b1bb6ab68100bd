import { EventEmitter } from 'node:events';
import { VigilError, type NormaliseContext, type Reading } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import type { IngestMetrics } from './metrics.js';
import { DedupeWindow } from './dedupe-window.js';
import type { Outbox } from './outbox/outbox.js';
import { batchTooLarge, parseItems, parseJsonPayload, parsePayload, type ParsedPayload, type ParseLimits, type PayloadItem, type Rejection } from './parse-payload.js';
import { translateSenml } from './senml.js';
import type { ClockSkew } from './clock-skew.js';
import type { RejectionLog } from './rejection-log.js';

export interface IntakeTiming {
  readonly futureToleranceMs: number;
  readonly maxAgeMs: number;
  readonly lateAfterMs: number;
}

export interface IngestOutcome {
  readonly accepted: number;
  readonly duplicates: number;
  readonly rejections: readonly Rejection[];
}

/** How a readings message is written: wire format v1 (the readings topic) or a SenML pack (the senml topic). */
export type PayloadFormat = 'v1' | 'senml';

/** Items another protocol (a Nightscout upload) was translated to, with what could not be translated. */
export interface TranslatedItems {
  readonly items: readonly PayloadItem[];
  readonly rejections: readonly Rejection[];
}

export interface IntakeOptions {
  readonly registry: Registry;
  readonly outbox: Outbox;
  readonly rejections: RejectionLog;
  readonly metrics: IngestMetrics;
  readonly limits: ParseLimits;
  readonly timing: IntakeTiming;
  /** Recent idempotency keys kept for duplicate detection (at least half of them at any moment: dedupe-window.ts). */
  readonly dedupeWindow?: number;
  readonly now?: () => number;
  /** Told the lead of each publish's newest reading over the server clock (O(1) per publish). */
  readonly clockSkew?: ClockSkew;
}

/**
 * The ingest entry point the gateway calls for each published readings message. It resolves once every valid
 * reading of the message is durable in the outbox (the caller then acknowledges), and reports what it rejected.
 * Emits 'committed' with the new readings after each commit: the alerts engine and live hub listen there.
 */
export class Intake extends EventEmitter<{ committed: [readings: readonly Reading[]] }> {
  readonly #o: IntakeOptions;
  /**
   * Recent keys and the commit that holds each (null: recovered from the outbox). A duplicate is acknowledged
   * when that commit has succeeded: at once if it already has, else when it does. One commit is shared by the
   * readings of one group commit, so keeping it settled in the window costs nothing per reading.
   */
  readonly #recent: DedupeWindow<Promise<void> | null>;
  readonly #now: () => number;

  constructor(options: IntakeOptions) {
    super();
    this.#o = options;
    this.#recent = new DedupeWindow(options.dedupeWindow ?? 200_000);
    this.#now = options.now ?? Date.now;
  }

  /** Seeds duplicate detection with readings recovered from the outbox after a restart. */
  remember(reading: Reading): void {
    if (this.#recent.get(reading.key) === undefined) this.#recent.add(reading.key, null);
  }

  // Not async: it hands back #judge's promise as it is (an async wrapper returning it cost two more microtask
  // jobs and a promise per publish).
  handleReadings(deviceId: string, payload: Buffer, format: PayloadFormat = 'v1'): Promise<IngestOutcome> {
    return this.#judge(deviceId, payload, format, (ctx) => (format === 'senml' ? this.#parseSenml(payload, ctx) : parsePayload(payload, ctx, this.#o.limits)));
  }

  /**
   * Readings another protocol delivered (a Nightscout upload), already translated to wire format v1 items: judged,
   * deduplicated and made durable exactly as a published message. `payload` is the request as received.
   */
  handleItems(deviceId: string, payload: Buffer, translated: TranslatedItems): Promise<IngestOutcome> {
    const tooMany = batchTooLarge(translated.items.length + translated.rejections.length, this.#o.limits);
    return this.#judge(deviceId, payload, 'translated', (ctx) => (tooMany ? { readings: [], rejections: [tooMany] } : parseItems(translated.items, ctx, translated.rejections)));
  }

  #parseSenml(payload: Buffer, ctx: NormaliseContext): ParsedPayload {
    const json = parseJsonPayload(payload, this.#o.limits);
    if ('rejection' in json) return { readings: [], rejections: [json.rejection] };
    const pack = translateSenml(json.body, ctx.receivedAt);
    const tooMany = batchTooLarge(pack.items.length + pack.rejections.length, this.#o.limits);
    return tooMany ? { readings: [], rejections: [tooMany] } : parseItems(pack.items, ctx, pack.rejections);
  }

  async #judge(deviceId: string, payload: Buffer, format: PayloadFormat | 'translated', parse: (ctx: NormaliseContext) => ParsedPayload): Promise<IngestOutcome> {
    const receivedAt = this.#now();
    const device = this.#o.registry.getDevice(deviceId);
    if (!device) throw new VigilError('VIGIL_ERR_NOT_FOUND', 'device not found');
    const patientId = device.patientId;
    const { futureToleranceMs, maxAgeMs, lateAfterMs } = this.#o.timing;
    const ctx: NormaliseContext = { deviceId, patientId: patientId ?? '', receivedAt, futureToleranceMs, maxAgeMs, lateAfterMs };
    const parsed = parse(ctx);
    let rejections = parsed.rejections;
    let readings = parsed.readings;
    if (patientId === null && readings.length > 0) {
      rejections = [
        ...rejections,
        ...readings.map((r, i) => ({
          ref: r.msgId ?? String(i),
          code: 'VIGIL_ERR_DEVICE_UNASSIGNED' as const,
          message: 'the device is not assigned to a patient; ask the care team to assign it',
          readingType: r.type,
        })),
      ];
      readings = [];
    }
    this.#o.clockSkew?.observePublish(deviceId, receivedAt, readings, rejections);
    if (rejections.length > 0) {
      // A replay sends the kept payload through intake as wire format v1: a message in another format keeps its
      // rejected items as translated (wire items; the raw record where translation failed), never itself whole.
      this.#o.rejections.record({ deviceId, patientId, receivedAt, rejections, payload, allRejected: format === 'v1' && readings.length === 0 });
      for (const r of rejections) this.#o.metrics.rejected.inc({ code: r.code });
    }

    const fresh: Reading[] = [];
    // Repeats inside one message: only a message of several readings needs the set.
    const freshKeys = readings.length > 1 ? new Set<string>() : undefined;
    let waits: Promise<void>[] | undefined;
    for (const reading of readings) {
      const earlier = this.#recent.get(reading.key);
      if (earlier !== undefined || freshKeys?.has(reading.key)) {
        if (earlier) (waits ??= []).push(earlier);
        continue;
      }
      fresh.push(reading);
      freshKeys?.add(reading.key);
    }
    const duplicates = readings.length - fresh.length;
    if (duplicates > 0) this.#o.metrics.duplicates.inc(duplicates);

    if (fresh.length > 0) {
      const started = performance.now();
      const commit = this.#o.outbox.append(fresh);
      for (const r of fresh) this.#recent.add(r.key, commit);
      try {
        await commit;
      } catch (err) {
        for (const r of fresh) this.#recent.delete(r.key);
        this.#o.metrics.outboxCommitFailures.inc();
        throw new VigilError('VIGIL_ERR_OUTBOX_UNAVAILABLE', `outbox commit failed: ${(err as Error).message}`, { cause: err });
      }
      this.#o.metrics.observeOutboxCommit((performance.now() - started) / 1000);
      for (const r of fresh) {
        this.#o.metrics.countAccepted(r.type);
        if (r.late) this.#o.metrics.late.inc();
      }
      this.emit('committed', fresh);
    }
    // A duplicate of a reading still being committed is acknowledged only once that commit has succeeded.
    if (waits) {
      await Promise.all(waits).catch((err: unknown) => {
        throw new VigilError('VIGIL_ERR_OUTBOX_UNAVAILABLE', `outbox commit failed: ${(err as Error).message}`, { cause: err });
      });
    }
    return { accepted: fresh.length, duplicates, rejections };
  }
}
