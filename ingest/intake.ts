import { EventEmitter } from 'node:events';
import { keyOf, VigilError, type NormaliseContext, type Reading } from '../domain/index.js';
import type { Registry } from '../registry/index.js';
import type { IngestMetrics } from './metrics.js';
import { DedupeWindow } from './dedupe-window.js';
import { NewestTimes } from './newest-times.js';
import type { Outbox } from './outbox/outbox.js';
import { batchTooLarge, parseItems, parseJsonPayload, parsePayload, type ParsedPayload, type ParseLimits, type PayloadItem, type Rejection } from './parse-payload.js';
import { translateSenml } from './senml.js';
import { notifyWaiters, PendingCommit, type CommitWaiter } from './pending-commit.js';
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

/** Answers one message, once: its outcome when it may be acknowledged, or the error why it may not. */
export type IntakeAnswer = (result: IngestOutcome | Error) => void;

/** The one answer a callback-style judgement gives, as a promise. */
function answered(judge: (answer: IntakeAnswer) => void): Promise<IngestOutcome> {
  return new Promise((resolve, reject) => judge((result) => (result instanceof Error ? reject(result) : resolve(result))));
}

/** What #admit decided, and the commits the message waits for before it may be acknowledged. */
interface Ticket {
  readonly outcome: IngestOutcome;
  readonly waitFor: readonly PendingCommit[];
  readonly own: PendingCommit | undefined;
  readonly appendedAt: number;
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
  /** Recent idempotency keys kept for duplicate detection, at least 2 (all but a sixteenth of them at any moment: dedupe-window.ts). */
  readonly dedupeWindow?: number;
  readonly now?: () => number;
  /** Told the lead of each publish's newest reading over the server clock (O(1) per publish). */
  readonly clockSkew?: ClockSkew;
}

/**
 * The ingest entry point the gateway calls for each published readings message. It answers once every valid
 * reading of the message is durable in the outbox (the caller then acknowledges), and reports what it rejected.
 * Emits 'committed' with the new readings of each group commit (many messages, in the order they were appended):
 * the alerts engine and live hub listen there.
 */
export class Intake extends EventEmitter<{ committed: [readings: readonly Reading[]] }> {
  readonly #o: IntakeOptions;
  /**
   * Recent keys and the commit that holds each (null: recovered from the outbox). A duplicate is acknowledged
   * when that commit has succeeded: at once if it already has, else when it does. One commit is shared by the
   * readings of one group commit, and lets go of them when settled, so the window costs a key per reading.
   */
  readonly #recent: DedupeWindow<PendingCommit | null>;
  /** Per device, the newest time in #recent: a newer reading is no duplicate, without a lookup. */
  readonly #newest = new NewestTimes();
  /** The commit the outbox's next appends join, until it settles. */
  #open: PendingCommit | undefined;
  readonly #now: () => number;

  constructor(options: IntakeOptions) {
    super();
    this.#o = options;
    this.#recent = new DedupeWindow(options.dedupeWindow ?? 200_000);
    this.#now = options.now ?? Date.now;
  }

  /** Seeds duplicate detection with readings recovered from the outbox after a restart. */
  remember(reading: Reading): void {
    if (this.#recent.get(reading) !== undefined) return;
    this.#recent.add(reading, null);
    this.#newest.note(reading.deviceId, reading.time);
  }

  /**
   * Judges a readings message and calls `answer` once: with the outcome when every valid reading is durable in
   * the outbox (and every duplicate's first copy is), or with the error why not (then it must not be
   * acknowledged). Synchronous up to the outbox append; the answer comes from the commit's one reaction.
   */
  accept(deviceId: string, payload: Buffer, format: PayloadFormat, answer: IntakeAnswer): void {
    this.#judge(deviceId, payload, format, (ctx) => (format === 'senml' ? this.#parseSenml(payload, ctx) : parsePayload(payload, ctx, this.#o.limits)), answer);
  }

  /** `accept` as a promise, for callers off the MQTT hot path (replays of rejected publishes). */
  handleReadings(deviceId: string, payload: Buffer, format: PayloadFormat = 'v1'): Promise<IngestOutcome> {
    return answered((answer) => this.accept(deviceId, payload, format, answer));
  }

  /**
   * Readings another protocol delivered (a Nightscout upload), already translated to wire format v1 items: judged,
   * deduplicated and made durable exactly as a published message. `payload` is the request as received.
   */
  handleItems(deviceId: string, payload: Buffer, translated: TranslatedItems): Promise<IngestOutcome> {
    const tooMany = batchTooLarge(translated.items.length + translated.rejections.length, this.#o.limits);
    const parse = (ctx: NormaliseContext): ParsedPayload => (tooMany ? { readings: [], rejections: [tooMany] } : parseItems(translated.items, ctx, translated.rejections));
    return answered((answer) => this.#judge(deviceId, payload, 'translated', parse, answer));
  }

  #parseSenml(payload: Buffer, ctx: NormaliseContext): ParsedPayload {
    const json = parseJsonPayload(payload, this.#o.limits);
    if ('rejection' in json) return { readings: [], rejections: [json.rejection] };
    const pack = translateSenml(json.body, ctx.receivedAt);
    const tooMany = batchTooLarge(pack.items.length + pack.rejections.length, this.#o.limits);
    return tooMany ? { readings: [], rejections: [tooMany] } : parseItems(pack.items, ctx, pack.rejections);
  }

  #judge(deviceId: string, payload: Buffer, format: PayloadFormat | 'translated', parse: (ctx: NormaliseContext) => ParsedPayload, answer: IntakeAnswer): void {
    let ticket: Ticket;
    try {
      ticket = this.#admit(deviceId, payload, format, parse);
    } catch (err) {
      return answer(err instanceof Error ? err : new Error(String(err)));
    }
    const { outcome, waitFor, own, appendedAt } = ticket;
    if (waitFor.length === 0) return answer(outcome);
    const waiter: CommitWaiter = { pending: waitFor.length, error: undefined, own, appendedAt, settle: (error) => answer(error ?? outcome) };
    for (const commit of waitFor) commit.waiters.push(waiter);
  }

  /** Everything up to the outbox append: parse, validate, record rejections, find duplicates, append the rest. */
  #admit(deviceId: string, payload: Buffer, format: PayloadFormat | 'translated', parse: (ctx: NormaliseContext) => ParsedPayload): Ticket {
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
    const waitFor: PendingCommit[] = [];
    const newest = this.#newest.of(deviceId);
    let newestFresh = newest;
    for (const reading of readings) {
      const earlier = reading.time > newest ? undefined : this.#recent.get(reading);
      const key = freshKeys ? keyOf(reading) : '';
      if (earlier !== undefined || freshKeys?.has(key)) {
        // A duplicate of a reading still being committed is acknowledged only once that commit has succeeded.
        if (earlier?.state === 'pending' && !waitFor.includes(earlier)) waitFor.push(earlier);
        continue;
      }
      fresh.push(reading);
      freshKeys?.add(key);
      if (reading.time > newestFresh) newestFresh = reading.time;
    }
    const duplicates = readings.length - fresh.length;
    if (duplicates > 0) this.#o.metrics.duplicates.inc(duplicates);
    const outcome: IngestOutcome = { accepted: fresh.length, duplicates, rejections };
    if (fresh.length === 0) return { outcome, waitFor, own: undefined, appendedAt: 0 };

    const appendedAt = performance.now();
    const own = this.#commitFor(this.#o.outbox.append(fresh));
    for (const r of fresh) {
      own.readings.push(r);
      this.#recent.add(r, own);
    }
    this.#newest.note(deviceId, newestFresh);
    if (!waitFor.includes(own)) waitFor.push(own);
    return { outcome, waitFor, own, appendedAt };
  }

  /** The commit an append joined: the open one when the outbox handed back its promise, else a new one. */
  #commitFor(durable: Promise<void>): PendingCommit {
    if (this.#open?.durable === durable) return this.#open;
    const commit = new PendingCommit(durable);
    this.#open = commit;
    durable.then(
      () => this.#durable(commit),
      (err: unknown) => this.#failed(commit, err instanceof Error ? err : new Error(String(err))),
    );
    return commit;
  }

  #durable(commit: PendingCommit): void {
    if (this.#open === commit) this.#open = undefined;
    const { readings, waiters } = commit.release('durable');
    const settledAt = performance.now();
    for (const w of waiters) if (w.own === commit) this.#o.metrics.outboxCommitSeconds.observe((settledAt - w.appendedAt) / 1000);
    for (const r of readings) {
      this.#o.metrics.countAccepted(r.type);
      if (r.late) this.#o.metrics.late.inc();
    }
    let listenerError: Error | undefined;
    try {
      // One event per group commit: the rules and the live view take the readings of many messages at once.
      this.emit('committed', readings);
    } catch (err) {
      // The readings are durable, but what listens was not told: not acknowledged, as before a listener ran.
      listenerError = err instanceof Error ? err : new Error(String(err));
    }
    notifyWaiters(waiters, listenerError);
  }

  #failed(commit: PendingCommit, err: Error): void {
    if (this.#open === commit) this.#open = undefined;
    const { readings, waiters } = commit.release('failed');
    for (const r of readings) if (this.#recent.get(r) === commit) this.#recent.delete(r);
    this.#o.metrics.outboxCommitFailures.inc();
    notifyWaiters(waiters, new VigilError('VIGIL_ERR_OUTBOX_UNAVAILABLE', `outbox commit failed: ${err.message}`, { cause: err }));
  }
}
