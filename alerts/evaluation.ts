import type { Programme, Reading } from '../domain/index.js';
import type { AggregatePoint, RangeQuery, RawPoint } from '../ingest/index.js';
import type { AlertFeed } from './feed.js';
import type { Finding } from './evaluate/finding.js';
import { evaluateDevice, evaluateEvent, evaluateMissing, evaluatePlannedMissing, type DeviceState, type PlannedExpectation } from './evaluate/sweep-rules.js';
import { evaluateThreshold, thresholdAbnormal, thresholdReads } from './evaluate/threshold.js';
import { raiseBySymptoms, SYMPTOM_RAISE, symptomWindowFrom, type SymptomReports } from './evaluate/symptom-raise.js';
import { evaluateTrend, isTrendRule, trendQuery } from './evaluate/trends.js';
import { adherenceBpHistoryFrom, adherenceWindowFrom, evaluateAdherenceBp } from './evaluate/adherence-bp.js';
import { applyDecision, sweepLeavesAsItIs } from './lifecycle/apply.js';
import { decide, silenced } from './lifecycle/decide.js';
import { dueEscalation, dueReminder, type TimerPolicy } from './lifecycle/timers.js';
import { runTogether, TOGETHER_MAX, type Transition, type TransitionOutcome, type Transitions, type WritingHook } from './lifecycle/transitions.js';
import type { AlertWrites } from './store/alert-writes.js';
import { findRule, programmeOf } from './rules/catalogue.js';
import { isTimeZone } from '../domain/index.js';
import type { Alert } from './types.js';
import type { RuleResolver } from './rules/resolver.js';
import type { MissingRule, Rule, Severity } from './rules/schema.js';
import type { AlertTable, LiveKey } from './store/alert-table.js';
import type { RuleSettings } from './store/rule-settings.js';
import type { SweepState } from './store/sweep-state.js';
import type { WaitingFindings } from './store/waiting-findings.js';
import { isOutage, type AuditLog } from '../state/index.js';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';
import { LiveKeys } from './live-keys.js';
import type { SharedRuleSettings } from './shared/shared-settings.js';

const HOUR = 3_600_000;
/**
 * How long one slice of a sweep may read and decide on the broker's thread before it writes and yields
 * (docs/architecture.md): short next to the 50 ms PUBACK p99 Vigil aims for, long next to a turn of the loop.
 */
const SWEEP_SLICE_MS = 10;
/** Live alerts the sweep reads at a time for their timers (a page of the live-alert index). */
const LIVE_PAGE = 200;
/** Writes one slice of a sweep gathers at most: one batch of a few milliseconds, and one fsync, holds the write lock. */
const SWEEP_SLICE_WRITES = 64;

/** The reading history trend rules look at: the reading store's range queries. */
export interface ReadingHistory {
  queryRaw(query: RangeQuery): Promise<RawPoint[]>;
  queryAggregate(query: RangeQuery & { bucketMs: number }): Promise<AggregatePoint[]>;
}

export interface DirectoryPatient {
  readonly id: string;
  readonly programmes: readonly Programme[];
  readonly createdAt: number;
  /** IANA time zone: trend rules judge the patient's local days. */
  readonly timeZone: string;
  /** When the patient was enrolled in each programme they are in. */
  readonly enrolledAt: Readonly<Partial<Record<Programme, number>>>;
}

export interface DirectoryDevice extends DeviceState {
  readonly patientId: string | null;
  readonly revokedAt: number | null;
  readonly assignedAt: number | null;
  /** A declared sensor warm-up (no readings expected until then). */
  readonly warmUpUntil: number | null;
}

/** What the alerts component needs to know of patients, devices and rejected readings. */
export interface PatientDirectory {
  patient(id: string): DirectoryPatient | undefined;
  patients(): DirectoryPatient[];
  devices(): DirectoryDevice[];
  /** One device as it is now (the sweep asks again before it writes from its snapshot of all of them). */
  device(id: string): DirectoryDevice | undefined;
  /** Readings rejected per device since a time (data quality). */
  rejectionCounts(since: number): ReadonlyMap<string, number>;
}

export interface EvaluationDeps {
  /**
   * A finding measured longer ago than this, when it is evaluated, is late: recorded and shown, not paged as if
   * it were happening now. Judged here, not on arrival, so readings evaluated again after a restart are late too.
   */
  readonly lateAfterMs: number;
  readonly table: AlertTable;
  /** Where transitions commit: the table itself, or PostgreSQL with shared alerts (alerts/shared). */
  readonly transitions: Transitions;
  /**
   * With shared alerts, the newest measurement times every instance has seen: each worker takes only some of a
   * patient's readings, and a missing-data rule must not count a gap that another worker's readings fill.
   */
  readonly sharedLastReadings?: SharedLastReadings | undefined;
  /** With shared alerts, where overrides change (an expired one is removed there, for every instance). */
  readonly sharedSettings?: SharedRuleSettings | undefined;
  readonly settings: RuleSettings;
  readonly resolver: RuleResolver<DirectoryPatient>;
  readonly sweepState: SweepState;
  /** With shared alerts: findings kept in the instance's state database until PostgreSQL has taken them. */
  readonly waitingFindings?: WaitingFindings | undefined;
  readonly feed: AlertFeed;
  readonly audit: AuditLog;
  readonly history: ReadingHistory;
  readonly directory: PatientDirectory;
  readonly policy: TimerPolicy;
  readonly log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly now: () => number;
  /**
   * The patient's monitoring plan, when there is one: it sets what each missing-data rule expects (undefined for a
   * rule: the rule's own gap applies). Asked once per patient and sweep, with the patient as the sweep read them:
   * asked per rule, the care loop read the plan and the patient again for each (five rules a patient in every
   * programme), and a sweep of 2,000 such patients took 15-25 times as long as one without plans.
   */
  readonly plan?: ((patient: DirectoryPatient) => PatientPlan | undefined) | undefined;
  /** Missed doses from the care loop, for the adherence rules; without it they have nothing to judge. */
  readonly adherence?: AdherencePort | undefined;
  /** Symptoms the patient reported in check-ins (the care loop): they can raise a weight-gain alert, never lower one. */
  readonly symptoms?: SymptomReports | undefined;
  /** Shared transitions waiting for PostgreSQL in memory at most (MAX_WAITING unless given: tests reach it with a few). */
  readonly maxWaiting?: number | undefined;
  /** How long a finding given up waits before it is queued again (GIVEN_UP_RETRY_MS unless given: tests shorten it). */
  readonly givenUpRetryMs?: number | undefined;
}

/** A patient's plan, as one missing-data rule sees it: undefined, the rule's own gap applies. */
export type PatientPlan = (readingType: string, where: Readonly<Record<string, string>>) => PlannedExpectation | undefined;

/** The newest measurement time per patient and series, shared by every instance (keyed `${patientId}\u0000${series}`). */
export interface SharedLastReadings {
  save(entries: readonly [string, number][]): Promise<void>;
  /** What changed since the previous load (everything the first time): the caller keeps the newest of each. */
  load(): Promise<Map<string, number>>;
}

/** How long a shared transition that met a PostgreSQL outage waits before it is tried again, doubling up to the last. */
const OUTAGE_RETRY_MS = [250, 500, 1_000, 2_000, 5_000, 10_000];
/**
 * How long a batch of shared transitions that failed whole, though not as an outage (the replica's SQLite busy under
 * the lock), waits before it is tried again; once these are spent its first transition is given up (#giveUpFront).
 */
const FAULT_RETRY_MS = [250, 500, 1_000, 2_000];
/**
 * A finding given up (#giveUpFront) is queued again after this long: a fault that outlasted its retries, or that
 * refused it alone (its alert changed under the lock, PostgreSQL refused its write), may be gone.
 */
const GIVEN_UP_RETRY_MS = 30_000;
/**
 * Transitions waiting for PostgreSQL in memory at most. Beyond it a finding waits only in the state database
 * (WaitingFindings) and is queued once the ones ahead of it are written (in memory after all, if the state database
 * cannot keep it); other transitions (an escalation, a reminder, an orphaned alert resolved: each sweep decides them
 * again on the alert as it is, so the first sweep after the outage makes what is due) are logged and dropped.
 */
const MAX_WAITING = 10_000;

/** A finding on its way to the shared alerts: `seq` once it is kept in the state database (WaitingFindings). */
interface Journaled {
  seq: number | undefined;
  readonly keep: () => number;
  /** The transaction noted with it in the state database as one that may have written it (its COMMIT's answer lost). */
  txid?: string | undefined;
}

/** A shared transition in the queue, with what its finding's journal does once it is written or given up. */
interface Queued {
  readonly transition: Transition<unknown>;
  readonly journal: Journaled | undefined;
  readonly keep: (queued: boolean) => void;
  readonly finished: () => void;
}

/** What the adherence rules ask of the care loop: missed doses of a medication class in [from, to). */
export interface AdherencePort {
  missedDoses(patientId: string, medicationClass: string, from: number, to: number): number;
}

function seriesOf(rule: MissingRule): string {
  const [entry] = Object.entries(rule.where);
  return entry ? `${rule.readingType}|${entry[0]}=${entry[1]}` : rule.readingType;
}

type BatchState = 'none' | 'waiting' | 'open';

/**
 * SQLite ended a batch's transaction midway: on a full disk or an I/O error it may roll back the whole
 * transaction, not only the savepoint of the statement that failed. The transitions before it are gone, and one
 * made after it would commit alone: the batch stops at once and is evaluated again, one transition at a time.
 */
class BatchLost extends Error {
  constructor() {
    super('the state database ended the batch of alert transitions midway');
  }
}

/**
 * Evaluation: rules on every committed reading (threshold and event rules, in measurement-time order), on every
 * stored batch (trend rules, on the patient's history and local days), and on the sweep (missing data,
 * devices, expired overrides, escalation and reminders). Each finding goes through the state machine
 * (lifecycle/decide.ts) and is written with its event in one transaction.
 */
export class AlertEvaluation {
  readonly #d: EvaluationDeps;
  /** Live alerts by patient, rule and subject: a clear finding with no live alert needs no database work. */
  readonly #liveKeys = new LiveKeys();
  readonly #lastReadings: Map<string, number>;
  readonly #dirtyLastReadings = new Map<string, number>();
  /** Newest measurement times not yet shared with the other instances (shared alerts). */
  readonly #unshared = new Map<string, number>();
  #trendQueue: Promise<void> = Promise.resolve();
  /**
   * Shared transitions, in the order they were evaluated (a patient's readings are decided in that order), written
   * from the front as many together as PostgreSQL takes in one transaction (#drain); `#writes` ends when it is empty.
   */
  readonly #queue: Queued[] = [];
  #draining = false;
  #writes: Promise<void> = Promise.resolve();
  #waiting = 0;
  #closing = false;
  /** The last shared write met an outage: at close, the findings behind it are given up without trying each. */
  #outage = false;
  #givenUp = 0;
  /** Findings whose batch kept failing though PostgreSQL answered (#giveUpFront), since start. */
  #findingsGivenUp = 0;
  /** Findings kept in the state database but not queued (the queue was full): queued once it has drained. */
  #overflowed = false;
  /** A pass of #queueWaitingFindings to come (#requeueIn), if one is due. */
  #requeue: NodeJS.Timeout | undefined;
  /** Passes of #queueWaitingFindings in a row that failed: the next one waits longer. */
  #requeueFailures = 0;
  /** Waiting findings queued in this process, so that one is never queued twice. */
  readonly #queuedFindings = new Set<number>();
  /** Findings queued and not kept in the state database yet: kept together when an outage begins. */
  readonly #unkept = new Set<Journaled>();
  #undrained = false;
  /** The sweep running, if one is: a sweep asked for meanwhile joins it (close waits for #sweepFinding). */
  #sweeping: Promise<void> | undefined;
  /** The running sweep's work up to its shared writes (not their writing, which close gives up in an outage). */
  #sweepFinding: Promise<void> | undefined;
  /** Set at close: a sweep stops after its current slice (the next sweep, at the next start, does all of it). */
  #sweepStopped = false;
  /** Whether each patient the current slice of a sweep writes for is still in the registry (#stillThere). */
  readonly #stillThereInSlice = new Map<string, boolean>();
  /** The state database's data_version in the sweep's start read (#deviceNow). */
  #sweepVersion = 0;
  /** Every device as the current slice reads them, once another connection has committed since the start (#deviceNow). */
  #devicesInSlice: ReadonlyMap<string, DirectoryDevice> | undefined;
  /** While a batch runs (#together): whether its transaction is open yet. */
  #batch: BatchState = 'none';
  readonly #unknownZones = new Set<string>();

  readonly #maxWaiting: number;
  readonly #givenUpRetryMs: number;

  constructor(deps: EvaluationDeps) {
    this.#d = deps;
    this.#maxWaiting = deps.maxWaiting ?? MAX_WAITING;
    this.#givenUpRetryMs = deps.givenUpRetryMs ?? GIVEN_UP_RETRY_MS;
    this.#loadLiveKeys();
    this.#lastReadings = deps.sweepState.lastReadings();
  }

  #loadLiveKeys(): void {
    this.#liveKeys.clear();
    for (const k of this.#d.table.liveKeys()) this.#liveKeys.add(k.patientId, k.ruleId, k.subject);
  }

  /**
   * Runs `evaluate` as one batch: the first transition it commits on the embedded database opens a transaction,
   * every later one joins it as a savepoint of its own (one that fails is undone alone, as before), and the batch
   * commits once at the end. A commit's readings or a sweep then cost one fsync on the broker's thread, not one
   * per alert: each was 0.3-3 ms with every device's PUBACK waiting behind it (500 patients in crisis at once
   * held them 330 ms; every sweep rewrote each live missing-data alert in its own). A batch with no transition,
   * the common case, opens nothing. Nothing but alert transitions writes inside a batch (the sweep's other writes
   * come before it). If the batch's COMMIT fails, or SQLite ended its transaction midway (BatchLost), nothing of
   * it was written: the live keys are loaded again and `evaluate` runs once more, each transition in its own
   * transaction, as before batching. Shared alerts are queued instead, and committed in PostgreSQL as many
   * together as can be (#drain).
   */
  #together(evaluate: () => void): void {
    if (this.#d.transitions.deferred) return evaluate();
    // Widened: the transitions `evaluate` commits open the batch (#commit), which the compiler cannot see.
    this.#batch = 'waiting' as BatchState;
    let failure: { err: unknown } | undefined;
    try {
      evaluate();
    } catch (err) {
      failure = { err };
    }
    const opened = this.#batch === 'open';
    this.#batch = 'none';
    if (!opened) {
      if (failure) throw failure.err;
      return;
    }
    if (failure?.err instanceof BatchLost) {
      this.#d.log.error({ err: failure.err }, 'a batch of alert transitions was rolled back midway: each is tried alone');
    } else {
      try {
        this.#d.table.commitBatch();
      } catch (err) {
        this.#d.table.abandonBatch();
        this.#d.log.error({ err }, 'a batch of alert transitions could not be committed together: each is tried alone');
        this.#loadLiveKeys();
        evaluate();
        return;
      }
      // What was committed before the failure stays committed, as when each transition committed alone.
      if (failure) throw failure.err;
      return;
    }
    this.#loadLiveKeys();
    evaluate();
  }

  /**
   * Queues the findings an earlier run on this data dir made and PostgreSQL never took (it stopped during an
   * outage), before this run evaluates any reading. The server calls it once at start; the CLI, which opens the
   * alerts too, does not (a running server may be writing them).
   */
  resumeWaitingFindings(): void {
    this.#queueWaitingFindings();
  }

  /**
   * Queues the findings waiting in the state database that this process has not queued, oldest first. Never
   * throws: it runs inside #drain (a throw there stopped the queue, every later drain chained on a rejection) and
   * at start. What could not be queued stays in the state database and is queued again after a pause.
   */
  #queueWaitingFindings(): void {
    const waiting = this.#d.waitingFindings;
    if (!waiting || !this.#d.transitions.deferred) return;
    this.#overflowed = false;
    let list: ReturnType<WaitingFindings['list']>;
    try {
      list = waiting.list();
    } catch (err) {
      // None could be read: later findings join them on disk (#overflowed), so that they are written in order.
      this.#overflowed = true;
      this.#queueWaitingLater(err);
      return;
    }
    // A finding that could not be queued holds back the later ones of its alert (its patient, rule and subject),
    // which must not be decided before it; the others go on.
    const held = new Set<string>();
    let failed: { err: unknown } | undefined;
    for (const w of list) {
      if (this.#queuedFindings.has(w.seq)) continue;
      const key = `${w.patientId}\u0000${w.ruleId}\u0000${w.finding.subject}`;
      if (held.has(key)) continue;
      try {
        const rule = this.#d.directory.patient(w.patientId) ? this.#d.resolver.rulesFor(w.patientId).find((r) => r.id === w.ruleId) : undefined;
        if (!rule) {
          this.#d.log.warn({ ruleId: w.ruleId }, 'a waiting finding is dropped: its patient is no longer in the registry, or its rule no longer applies');
          waiting.done(w.seq);
          continue;
        }
        if (!this.#apply(w.patientId, rule, w.finding, w.late, w.at, w.fromSweep, w.seq, w.txid)) break;
      } catch (err) {
        held.add(key);
        failed ??= { err };
      }
    }
    if (failed) this.#queueWaitingLater(failed.err);
    else this.#requeueFailures = 0;
  }

  /**
   * Findings in the state database could not be queued: logged, and queued again after a pause (backoff). Reads
   * nothing of the state database (not even how many wait): it is what just failed, and this must not throw.
   */
  #queueWaitingLater(err: unknown): void {
    const delay = OUTAGE_RETRY_MS[Math.min(this.#requeueFailures++, OUTAGE_RETRY_MS.length - 1)]!;
    this.#d.log.error({ err, retryInMs: delay }, 'findings waiting in the data dir could not be queued for the shared database: they stay there and are queued again later');
    this.#requeueIn(delay);
  }

  /**
   * Queues the findings the state database holds and this process has not queued, in `ms`: those that could not
   * be queued (#queueWaitingLater) or were given up (#giveUpFront). Not at close: the next start queues them.
   */
  #requeueIn(ms: number): void {
    if (this.#requeue !== undefined || this.#closing) return;
    this.#requeue = setTimeout(() => {
      this.#requeue = undefined;
      // Behind what is queued in memory, which is older than anything kept on disk only (#commit keeps the order).
      if (!this.#closing) this.#queueWaitingFindings();
    }, ms);
    // A pending retry does not keep a stopping process alive: what waits is on disk for the next start.
    this.#requeue.unref();
  }

  /**
   * An alert resolved elsewhere (a person, the CLI) is no longer live here, unless another one has opened for
   * the same patient, rule and subject since (the resolution may be drained after the new alert opened).
   */
  forget(patientId: string, ruleId: string, subject: string): void {
    if (!this.#d.table.live(patientId, ruleId, subject)) this.#liveKeys.delete(patientId, ruleId, subject);
  }

  /** Threshold and event rules, on readings just made durable: in order of measurement, not of arrival. */
  onCommitted(readings: readonly Reading[]): void {
    const now = this.#d.now();
    const ordered = readings.length > 1 && !isSorted(readings) ? [...readings].sort((a, b) => a.time - b.time) : readings;
    this.#together(() => {
      for (const reading of ordered) {
        // The reading's series: its type, and its type with each tag (glucose|source=cgm).
        this.#noteLastReading(reading.patientId, reading.type, reading.time);
        for (const k of Object.keys(reading.tags)) this.#noteLastReading(reading.patientId, `${reading.type}|${k}=${reading.tags[k]}`, reading.time);
        // One reading that cannot be evaluated (a database busy past its timeout) must not skip the rest.
        try {
          this.#evaluateReading(reading, now);
        } catch (err) {
          if (err instanceof BatchLost) throw err;
          this.#d.log.error({ err, type: reading.type }, 'rules could not be evaluated on a reading');
        }
      }
    });
    this.#drainIfNeeded();
  }

  #evaluateReading(reading: Reading, now: number): void {
    const late = now - reading.time > this.#d.lateAfterMs;
    for (const rule of this.#d.resolver.rulesFor(reading.patientId)) {
      let finding: Finding | undefined;
      if (rule.kind === 'threshold' && thresholdReads(rule, reading.type)) {
        // The common case on a busy gateway: a normal reading and no live alert to clear.
        if (!this.#liveKeys.has(reading.patientId, rule.id, '') && !thresholdAbnormal(rule, reading)) continue;
        finding = evaluateThreshold(rule, reading);
      } else if (rule.kind === 'event' && rule.readingType === reading.type) finding = evaluateEvent(rule, reading);
      if (finding) this.#apply(reading.patientId, rule, finding, late, now);
    }
  }

  /** Trend rules, on readings now in the store; one batch after the other. */
  onStored(readings: readonly Reading[]): Promise<void> {
    const latest = new Map<string, { patientId: string; type: Reading['type']; time: number }>();
    for (const r of readings) {
      const key = `${r.patientId}|${r.type}`;
      const seen = latest.get(key);
      if (!seen || r.time > seen.time) latest.set(key, { patientId: r.patientId, type: r.type, time: r.time });
    }
    // A failed batch must not stop the queue: each batch starts from a settled promise.
    this.#trendQueue = this.#trendQueue.catch(() => undefined).then(async () => {
      for (const item of latest.values()) {
        try {
          await this.#evaluateTrends(item.patientId, item.type, item.time);
        } catch (err) {
          this.#d.log.warn({ type: item.type, err }, 'trend rules could not be evaluated');
        }
      }
      this.#drainIfNeeded();
    });
    return this.#trendQueue;
  }

  /**
   * A check-in answer arrived: the weight-gain rules look again at the patient's latest weight (if it is recent
   * enough to be "together" with the answer), so that breathlessness reported after the morning weight raises an
   * open weight-gain alert now rather than the next morning. The news is the answer: not late.
   */
  onSymptoms(patientId: string): Promise<void> {
    const at = this.#lastReadings.get(`${patientId}\u0000weight`);
    const now = this.#d.now();
    if (at === undefined || now - at > SYMPTOM_RAISE.beforeWeightHours * HOUR) return this.#trendQueue;
    this.#trendQueue = this.#trendQueue.catch(() => undefined).then(async () => {
      try {
        await this.#evaluateTrends(patientId, 'weight', at, true);
      } catch (err) {
        this.#d.log.warn({ err }, 'trend rules could not be evaluated on a check-in');
      }
      this.#drainIfNeeded();
    });
    return this.#trendQueue;
  }

  async #evaluateTrends(patientId: string, type: Reading['type'], at: number, current = false): Promise<void> {
    const patient = this.#d.resolver.patient(patientId);
    if (!patient) return;
    const timeZone = this.#zoneOf(patient);
    for (const rule of this.#d.resolver.rulesFor(patientId)) {
      if (!isTrendRule(rule) || rule.readingType !== type) continue;
      const q = trendQuery(rule, at, timeZone);
      const data =
        q.kind === 'raw'
          ? await this.#d.history.queryRaw({ patientId, type, from: q.from, to: q.to, limit: 20_000 })
          : await this.#d.history.queryAggregate({ patientId, type, from: q.from, to: q.to, bucketMs: q.bucketMs });
      const now = this.#d.now();
      const found = evaluateTrend(rule, data, at, timeZone);
      const finding = found && this.#d.symptoms ? raiseBySymptoms(rule, found, () => this.#d.symptoms!(patientId, symptomWindowFrom(found), now + 1)) : found;
      if (finding) this.#apply(patientId, rule, finding, !current && now - at > this.#d.lateAfterMs, now);
    }
    await this.#evaluateAdherence(patientId, type, at);
  }

  /** Adherence rules, when the care loop counted doses missed (at the current time, on the patient's history). */
  onDosesMissed(patientIds: readonly string[]): Promise<void> {
    const at = this.#d.now();
    this.#trendQueue = this.#trendQueue.catch(() => undefined).then(async () => {
      for (const patientId of new Set(patientIds)) {
        try {
          await this.#evaluateAdherence(patientId, 'blood_pressure', at);
        } catch (err) {
          this.#d.log.warn({ err }, 'adherence rules could not be evaluated');
        }
      }
      this.#drainIfNeeded();
    });
    return this.#trendQueue;
  }

  async #evaluateAdherence(patientId: string, type: Reading['type'], at: number): Promise<void> {
    const port = this.#d.adherence;
    if (!port) return;
    // Every stored batch comes here: the (cached) rules first, and the patient only for one that reads this type.
    const rules = this.#d.resolver.rulesFor(patientId).filter((r) => r.kind === 'adherence_bp' && r.readingType === type);
    const patient = rules.length > 0 ? this.#d.resolver.patient(patientId) : undefined;
    if (!patient) return;
    const timeZone = this.#zoneOf(patient);
    for (const rule of rules) {
      if (rule.kind !== 'adherence_bp') continue;
      const missed = port.missedDoses(patientId, rule.medicationClass, adherenceWindowFrom(rule, at, timeZone), at + 1);
      const history = missed < rule.missedDoses ? [] : await this.#d.history.queryRaw({ patientId, type, from: adherenceBpHistoryFrom(rule, at, timeZone), to: at + 1, limit: 20_000 });
      const finding = evaluateAdherenceBp(rule, missed, history, at, timeZone);
      const now = this.#d.now();
      if (finding) this.#apply(patientId, rule, finding, now - at > this.#d.lateAfterMs, now);
    }
  }

  /**
   * The patient's zone, or UTC if the runtime no longer knows it (time-zone data changed under a stored zone):
   * trend rules keep running on UTC days rather than stopping for this patient.
   */
  #zoneOf(patient: DirectoryPatient): string {
    if (isTimeZone(patient.timeZone)) return patient.timeZone;
    // Once per patient and process: every batch would otherwise log it again.
    if (!this.#unknownZones.has(patient.id) && this.#unknownZones.size < 10_000) {
      this.#unknownZones.add(patient.id);
      this.#d.log.error({ patientId: patient.id }, 'the patient\'s time zone is unknown to this runtime: trend rules use UTC days');
    }
    return 'UTC';
  }

  /**
   * Missing data, devices, expired overrides, escalation and reminders: run by the scheduler. A sweep asked for
   * while one runs joins it.
   */
  sweep(): Promise<void> {
    this.#sweeping ??= this.#sweepOnce().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<void> {
    const shared = this.#d.sharedLastReadings !== undefined;
    // Shared alerts: the gaps are judged on the newest readings any instance took; then the transitions are written.
    const finding = (async () => {
      if (shared) {
        await this.#shareLastReadings();
        await this.#expireSharedOverrides(this.#d.now());
      }
      await this.#sweepNow();
    })();
    this.#sweepFinding = finding;
    try {
      await finding;
    } finally {
      this.#sweepFinding = undefined;
    }
    // Not waited for at close: during an outage the writes end only once close gives them up (#closing).
    if (shared) await this.settled();
  }

  /** Expired overrides removed from the shared settings (one instance's removal counts; the others find none). */
  async #expireSharedOverrides(now: number): Promise<void> {
    const shared = this.#d.sharedSettings!;
    for (const o of this.#d.settings.expiredOverrides(now)) {
      if (await shared.clearExpiredOverride(o.patientId, o.ruleId, now)) {
        this.#d.audit.record('vigil', 'rule.override_expired', o.patientId, o.ruleId, { override: o.override, setBy: o.actor, reason: o.reason }, now);
      }
      this.#d.resolver.invalidate(o.patientId);
    }
  }

  /**
   * The sweep reads every patient and their rules once, then works through them, and through the live alerts a
   * page at a time, in slices of about SWEEP_SLICE_MS, yielding to the event loop between slices. A slice reads
   * and decides outside any transaction, then writes what changed in one batch (#together). It runs on the
   * broker's thread: with 20,000 live missing-data alerts one run held that thread, every device's PUBACK and the
   * state database's write lock (the CLI's acknowledgements wait for it) for one to two seconds. Each finding is
   * made in its slice, on the newest readings: one that arrived between slices is not overruled.
   */
  async #sweepNow(): Promise<void> {
    // Closing: asked for (or past its shared reads) once close began, it finds nothing, and writes nothing.
    if (this.#sweepStopped) return;
    const now = this.#d.now();
    this.#flushLastReadings();
    // Before the batches: expiring an override writes its audit entry, and counting rejections flushes the
    // rejection log. Neither may be rolled back with a batch whose commit fails, and then not be done again.
    this.#expireOverrides(now);
    const { table } = this.#d;
    const failed: SweepFailures = { count: 0 };
    // The sweep's reads are made in read transactions, one for the start and one per slice: each of its thousands
    // of small reads made alone was a read transaction of its own (see AlertTable.reading).
    const { seen, devices } = table.reading(() => {
      const patients = this.#d.directory.patients();
      this.#d.resolver.prime(patients);
      const seen: SweepSnapshot = {
        patients: new Map(patients.map((p) => [p.id, p])),
        rules: new Map(patients.map((p) => [p.id, this.#d.resolver.rulesFor(p.id)])),
        snoozed: this.#d.settings.snoozedTiers(now),
      };
      this.#sweepVersion = table.dataVersion();
      return { seen, devices: this.#d.directory.devices().filter((d) => d.patientId !== null && d.revokedAt === null) };
    });
    // Not in the read transaction: counting rejections first writes out the rejection log's buffer.
    const work = this.#sweepWork(now, seen, devices, this.#rejectionCounts(devices, seen, now), failed);
    for (let next = 0; next < work.length && !this.#sweepStopped; ) {
      if (next > 0) await nextTurn();
      // Read and decide first, in a read transaction (no write lock); then write what changed in one short batch,
      // so that the write lock is held for the writes alone and another process (the CLI) finds it free most of
      // the time.
      const writes: SweepWrite[] = [];
      this.#stillThereInSlice.clear();
      this.#devicesInSlice = undefined;
      const deadline = performance.now() + SWEEP_SLICE_MS;
      table.reading(() => {
        do {
          const item = work[next++]!;
          this.#sweepStep(() => item(writes), failed);
        } while (next < work.length && writes.length < SWEEP_SLICE_WRITES && performance.now() < deadline);
      });
      if (writes.length === 0) continue;
      // Each write decides again on the alert as it is: a lost batch runs them all again, alone.
      this.#together(() => {
        for (const write of writes) if (!this.#sweepStep(write, failed, true)) break;
      });
      this.#d.feed.drain();
      if (failed.refused !== undefined) break;
    }
    // What a trend evaluation between two slices left undrained is drained too (the feed reads every new event).
    this.#d.feed.drain();
    this.#undrained = false;
    this.#stillThereInSlice.clear();
    this.#devicesInSlice = undefined;
    if (failed.refused !== undefined) {
      this.#d.log.error({ err: failed.refused }, "the state database's write lock was refused past its busy timeout (another process holds it): the alert sweep stopped, the next one decides again what it could not write");
    }
    if (failed.count > 0) this.#d.log.error({ err: failed.first, failed: failed.count }, 'parts of the alert sweep failed: it went on with the rest');
  }

  /**
   * One step of the sweep: an item's reading and deciding, or one of its writes. One that throws (a patient's plan
   * judged in a time zone this runtime no longer knows) is counted, logged at the sweep's end, and the sweep goes
   * on: the steps after it include every live alert's escalation and reminder, and each sweep would otherwise stop
   * at the same step. A batch SQLite ended midway is the batch's to handle (#together). A write that found the
   * write lock held by another process past the busy timeout ends the slice's writes and the sweep (false): each
   * write after it would wait out the timeout again, 5 s each on the broker's thread, a slice's 64 writes more
   * than five minutes without a turn. The next sweep decides again what this one could not write.
   */
  #sweepStep(step: () => void, failed: SweepFailures, writing = false): boolean {
    try {
      step();
    } catch (err) {
      if (err instanceof BatchLost) throw err;
      if (writing && lockRefused(err)) {
        failed.refused = err;
        return false;
      }
      // Said once per sweep, with the first error: a full disk fails every write of it.
      if (failed.count++ === 0) failed.first = err;
    }
    return true;
  }

  /** Rejected publishes per device, for each window the device rules of these devices' patients count over. */
  #rejectionCounts(devices: readonly DirectoryDevice[], seen: SweepSnapshot, now: number): ReadonlyMap<number, ReadonlyMap<string, number>> {
    const windows = new Map<number, ReadonlyMap<string, number>>();
    for (const device of devices) {
      for (const rule of seen.rules.get(device.patientId!) ?? []) {
        if (rule.kind !== 'device' || rule.check !== 'rejecting') continue;
        const windowMs = rule.rejectedWindowHours * HOUR;
        if (!windows.has(windowMs)) windows.set(windowMs, this.#d.directory.rejectionCounts(now - windowMs));
      }
    }
    return windows;
  }

  /**
   * The sweep's work: one item per patient (missing data), per device, and per page of live alerts (timers,
   * orphans), each page read in its slice: the live alerts are the largest read of a sweep (20,000 rows took
   * about 100 ms), and read at once they were one long turn of the broker's thread.
   */
  #sweepWork(now: number, seen: SweepSnapshot, devices: readonly DirectoryDevice[], rejections: ReadonlyMap<number, ReadonlyMap<string, number>>, failed: SweepFailures): SweepItem[] {
    const devicesOf = new Map<string, DirectoryDevice[]>();
    for (const d of devices) {
      const own = devicesOf.get(d.patientId!);
      if (own) own.push(d);
      else devicesOf.set(d.patientId!, [d]);
    }
    const work: SweepItem[] = [];
    for (const patient of seen.patients.values()) {
      const own = devicesOf.get(patient.id);
      // Nothing can arrive from a patient without a device: there is no gap to count yet.
      if (own) work.push((toWrite) => this.#sweepMissing(patient, own, seen, now, toWrite));
    }
    for (const device of devices) work.push((toWrite) => this.#sweepDevice(device, seen, rejections, now, toWrite));
    // After the findings: an alert they opened has no timer due yet, and what is due is decided again on the
    // alert as it is inside the transition.
    // A page's alerts up to the slice's cap of writes; the rest of the page is an item of its own, for the next
    // slice (a page of 200 critical alerts all due an escalation was one batch of 200 writes).
    const timersOf =
      (alerts: readonly Alert[]): SweepItem =>
      (toWrite) => {
        for (let i = 0; i < alerts.length; i++) {
          if (toWrite.length >= SWEEP_SLICE_WRITES) {
            work.push(timersOf(alerts.slice(i)));
            return;
          }
          const alert = alerts[i]!;
          // Each alert a step of its own: one whose timers cannot be read (a read that fails) must not leave the
          // rest of the page unread, their escalations undone.
          this.#sweepStep(() => this.#sweepTimers(alert, seen, devicesOf.get(alert.patientId) ?? [], now, toWrite), failed);
        }
      };
    const timersFrom =
      (after: LiveKey | undefined): SweepItem =>
      (toWrite) => {
        const page = this.#d.table.livePage(after, LIVE_PAGE);
        // The next page first: a page that fails midway must not leave every page after it unread.
        if (page.length === LIVE_PAGE) work.push(timersFrom(page.at(-1)));
        timersOf(page)(toWrite);
      };
    work.push(timersFrom(undefined));
    return work;
  }

  #sweepMissing(patient: DirectoryPatient, devices: readonly DirectoryDevice[], seen: SweepSnapshot, now: number, toWrite: SweepWrite[]): void {
    let plan: PatientPlan | undefined | null = null;
    for (const rule of seen.rules.get(patient.id) ?? []) {
      if (rule.kind !== 'missing') continue;
      const last = this.#lastReadings.get(`${patient.id}\u0000${seriesOf(rule)}`);
      if (plan === null) plan = this.#d.plan?.(patient);
      const planned = plan?.(rule.readingType, rule.where);
      const from = countFrom(patient, rule, devices);
      const finding = planned === undefined ? evaluateMissing(rule, last, from, now) : evaluatePlannedMissing(rule, planned, last, from, now);
      if (finding && this.#sweepChanges(patient.id, rule, finding, seen, now) && this.#stillThere(patient.id)) toWrite.push(() => this.#apply(patient.id, rule, finding, false, now, true));
    }
  }

  #sweepDevice(device: DirectoryDevice, seen: SweepSnapshot, rejections: ReadonlyMap<number, ReadonlyMap<string, number>>, now: number, toWrite: SweepWrite[]): void {
    let current: DirectoryDevice | undefined | null = null;
    for (const rule of seen.rules.get(device.patientId!) ?? []) {
      if (rule.kind !== 'device') continue;
      const rejected = rule.check === 'rejecting' ? (rejections.get(rule.rejectedWindowHours * HOUR)?.get(device.id) ?? 0) : undefined;
      const changes = (state: DirectoryDevice) => {
        const finding = evaluateDevice(rule, { ...state, rejected }, now);
        return finding && this.#sweepChanges(device.patientId!, rule, finding, seen, now) ? finding : undefined;
      };
      if (!changes(device)) continue;
      // The devices were read at the sweep's start, slices ago: one that came back, or was revoked or reassigned
      // since, must not be paged for from that read (the next sweep would resolve it). Asked again only here, when
      // something would change: most devices read as they did.
      if (current === null) current = this.#deviceNow(device.id);
      if (!current || current.revokedAt !== null || current.patientId !== device.patientId) return;
      const finding = changes(current);
      if (finding && this.#stillThere(device.patientId!)) toWrite.push(() => this.#apply(device.patientId!, rule, finding, false, now, true));
    }
  }

  /**
   * One device as the current slice reads it. The registry's cache (directory.device) forgets a device this
   * process changes, so it is true to this process's changes; another process's commits (the CLI's revocation or
   * reassignment) it learns of at most every 200 ms, and asked within that time it answered a device the CLI had
   * revoked since the sweep's start as it was: the device was paged for. Once another connection has committed
   * since the start read (SQLite's data_version, which this connection's commits leave as it is), every device is
   * read again from the slice's read transaction, once a slice: rare (a CLI's commit during a sweep), and one
   * read of the devices table, not one per device.
   */
  #deviceNow(id: string): DirectoryDevice | undefined {
    if (this.#d.table.dataVersion() === this.#sweepVersion) return this.#d.directory.device(id);
    this.#devicesInSlice ??= new Map(this.#d.directory.devices().map((d) => [d.id, d]));
    return this.#devicesInSlice.get(id);
  }

  /**
   * Whether a sweep's finding may change its alert, read in the slice's read transaction, before any write: most
   * persisting gaps and offline devices read as they did 30 s ago, and for them no savepoint, and so no write
   * lock, is taken (nor, with shared alerts, a round trip to PostgreSQL queued). Decided as `#apply` decides.
   */
  #sweepChanges(patientId: string, rule: Rule, finding: Finding, seen: SweepSnapshot, now: number): boolean {
    // Nothing live: only an abnormal finding no snooze silences changes something (it opens an alert). A clear one
    // with nothing live is the common case, a patient whose readings arrive. The snooze as it is now, not as the
    // sweep's start read it: one lifted meanwhile must not keep the alert from opening.
    if (!this.#liveKeys.has(patientId, rule.id, finding.subject)) {
      return finding.severity !== null && !silenced(finding.severity, this.#d.settings.snoozed(patientId, rule.id, now)?.tier);
    }
    const live = this.#d.table.live(patientId, rule.id, finding.subject);
    // A live key with nothing live: #apply forgets it.
    if (!live) return true;
    // A clear finding that changes nothing: a battery in its band, a latched alert waiting for a person.
    if (finding.severity === null) return decide(live, finding, { rule, late: false }).kind !== 'none';
    const snoozedUpTo = seen.snoozed.get(`${patientId}\u0000${rule.id}`);
    return !sweepLeavesAsItIs(live, finding, decide(live, finding, { rule, late: false, snoozedUpTo }));
  }

  /**
   * Whether the patient is still in the registry when the sweep writes for them: the patients were read at the
   * sweep's start, and a patient erased between two slices must not get a new alert (their alerts are gone). Read
   * for every write, not only for a new alert: an erasure does not tell the live keys, which may still hold the
   * erased patient's, and a write for one of them would open an alert. Read once per slice for each patient: a
   * slice reads, decides and writes in one turn of the thread, and nothing is erased within it. (Read per write,
   * a sweep in which 4,000 gaps of 1,000 patients changed read the registry 4,000 times, a third of its time.)
   */
  #stillThere(patientId: string): boolean {
    let there = this.#stillThereInSlice.get(patientId);
    if (there === undefined) this.#stillThereInSlice.set(patientId, (there = this.#d.directory.patient(patientId) !== undefined));
    return there;
  }

  /** An alert's escalation or reminder, when due; or its resolution, when nothing watches it any more. */
  #sweepTimers(alert: Alert, seen: SweepSnapshot, devices: readonly DirectoryDevice[], now: number, toWrite: SweepWrite[]): void {
    const { table } = this.#d;
    const why = this.#orphaned(alert, seen, devices);
    if (why) {
      toWrite.push(() => this.#resolveOrphan(alert, why, now));
      return;
    }
    // Most live alerts have nothing due in a given sweep: no transaction for them (about 30 µs each, on the
    // broker's thread, for every live alert every 30 s). What is due is decided again inside the transition.
    if (this.#dueTimer(alert, now) === undefined) return;
    // Decided again on the alert as it is when written: another instance may have escalated or reminded first.
    toWrite.push(() => this.#commit({
      select: () => table.get(alert.id),
      build: (current, writes) => {
        if (!current || current.status === 'resolved') return;
        const due = this.#dueTimer(current, now);
        if (due === undefined) return;
        if (due !== 'remind') {
          writes.addEvent('alert.escalated', writes.update(current.id, { escalationLevel: due.escalate, escalatedAt: now, updatedAt: now }), now, 'vigil');
          return;
        }
        const updated = writes.update(current.id, {
          status: 'open',
          notifiedAt: now,
          renotifyCount: current.renotifyCount + 1,
          lastRenotifyReason: 'reminder',
          escalationLevel: 0,
          escalatedAt: null,
          updatedAt: now,
        });
        writes.addEvent('alert.renotified', updated, now, 'vigil', 'reminder');
      },
    }));
  }

  /** What an alert's clock asks for now: the next escalation level, a reminder, or nothing. */
  #dueTimer(alert: Alert, now: number): { readonly escalate: number } | 'remind' | undefined {
    const { settings, policy } = this.#d;
    const level = dueEscalation(alert, now, policy);
    if (level !== undefined) return { escalate: level };
    if (dueReminder(alert, now, policy, findRule(alert.ruleId)?.kind) && !silenced(alert.severity, settings.snoozed(alert.patientId, alert.ruleId, now)?.tier)) return 'remind';
    return undefined;
  }

  /**
   * Resolves a live alert whose rule no longer watches it (the programme ended, the rule was switched off, the
   * device was revoked or reassigned, the patient has no device left to miss readings from): otherwise it would
   * stay open, and remind, for ever. A critical alert nobody acknowledged is left for a person (it latches).
   */
  #orphaned(alert: Alert, seen: SweepSnapshot, devices: readonly DirectoryDevice[]): string | undefined {
    if (alert.severity === 'critical' && alert.status === 'open') return undefined;
    const why = orphanedBecause(alert, seen.patients.get(alert.patientId), seen.rules.get(alert.patientId), devices);
    if (why !== NO_PATIENT && why !== NO_RULE) return why;
    // The patients and their rules were read at the sweep's start, the live alerts a page at a time since: an alert
    // opened meanwhile for a patient registered, or under a rule that applies again, after that read is no orphan.
    // Asked again of the registry and the rules as they are now (rare: an orphan is resolved once).
    const patient = this.#d.directory.patient(alert.patientId);
    const current = orphanedBecause(alert, patient, patient && this.#d.resolver.rulesFor(alert.patientId), devices);
    // A patient registered since: their devices, read at the sweep's start, are not known to it.
    return current === NO_PATIENT || current === NO_RULE || seen.patients.has(alert.patientId) ? current : undefined;
  }

  #resolveOrphan(alert: Alert, why: string, now: number): void {
    this.#commit({
      select: () => this.#d.table.get(alert.id),
      // Decided again on the alert as it is: it may have been resolved meanwhile (and the key taken by a newer
      // alert, whose key must stay), or, with shared alerts, opened again as a critical, which latches.
      build: (current, writes) => {
        if (!current || current.status === 'resolved' || (current.severity === 'critical' && current.status === 'open')) return false;
        writes.addEvent('alert.resolved', writes.update(current.id, { status: 'resolved', resolvedAt: now, resolvedBy: 'vigil', resolveNote: why, updatedAt: now }), now, 'vigil');
        return true;
      },
      committed: (resolved) => {
        if (resolved) this.#liveKeys.delete(alert.patientId, alert.ruleId, alert.subject);
      },
    });
  }

  #expireOverrides(now: number): void {
    // Shared: removed in PostgreSQL before this sweep (#expireSharedOverrides); an expired override no longer applies meanwhile.
    if (this.#d.sharedSettings) return;
    for (const o of this.#d.settings.expiredOverrides(now)) {
      this.#d.table.transaction(() => {
        if (this.#d.settings.clearOverride(o.patientId, o.ruleId)) {
          this.#d.audit.record('vigil', 'rule.override_expired', o.patientId, o.ruleId, { override: o.override, setBy: o.actor, reason: o.reason }, now);
        }
      });
      this.#d.resolver.invalidate(o.patientId);
    }
  }

  /** Returns false when the finding could only be kept in the state database (the queue is full). */
  #apply(patientId: string, rule: Rule, finding: Finding, late: boolean, now: number, fromSweep = false, waitingSeq?: number, writtenIn?: string): boolean {
    // The common case on a busy gateway: a normal reading and nothing to resolve.
    if (waitingSeq === undefined && finding.severity === null && !this.#liveKeys.has(patientId, rule.id, finding.subject)) return true;
    const snoozedUpTo = finding.severity === null ? undefined : this.#d.settings.snoozed(patientId, rule.id, now)?.tier;
    const { table } = this.#d;
    // Shared alerts write later: the normal readings after this one in the batch must not be skipped as "nothing
    // live" before this finding's alert is written. The key is settled with the truth once it is committed.
    if (this.#d.transitions.deferred && finding.severity !== null) this.#liveKeys.add(patientId, rule.id, finding.subject);
    // What the decision saw (the last try's, with shared alerts): whether the alert is live after it follows
    // from that, without asking the table again for every abnormal repeat.
    let wasLive = false;
    const waiting = this.#d.transitions.deferred ? this.#d.waitingFindings : undefined;
    const journal: Journaled | undefined = waiting && { seq: waitingSeq, txid: writtenIn, keep: () => waiting.keep(patientId, rule.id, finding, late, now, fromSweep) };
    return this.#commit({
      select: () => table.live(patientId, rule.id, finding.subject),
      build: (live: Alert | undefined, writes: AlertWrites) => {
        wasLive = live !== undefined;
        const alreadyResolved = !live && finding.severity !== null && table.coveredByResolved(patientId, rule.id, finding.subject, finding.observedAt);
        const decision = decide(live, finding, { rule, late, snoozedUpTo, alreadyResolved });
        return applyDecision(writes, { patientId, rule, live, finding, decision, late, now, fromSweep }) ? decision : undefined;
      },
      committed: (decision) => {
        if (decision) this.#undrained = true;
        // Only a resolve ends a live alert; only an open starts one.
        if (decision?.kind === 'open' || (wasLive && decision?.kind !== 'resolve')) this.#liveKeys.add(patientId, rule.id, finding.subject);
        else this.#liveKeys.delete(patientId, rule.id, finding.subject);
      },
      writtenIn,
    }, journal);
  }

  /**
   * Commits a transition: at once on the embedded database; with shared alerts, queued behind this instance's
   * others and tried again through a PostgreSQL outage, so a finding met while the database is away still
   * becomes an alert when it is back (the reading that made it is evaluated only once).
   */
  #commit<T>(transition: Transition<T>, journal?: Journaled): boolean {
    const { transitions, log } = this.#d;
    if (!transitions.deferred) {
      if (this.#batch === 'waiting') {
        this.#d.table.beginBatch();
        this.#batch = 'open';
      } else if (this.#batch === 'open' && !this.#d.table.inBatch) throw new BatchLost();
      void transitions.run(transition);
      return true;
    }
    // A finding is kept in the state database once it waits for an outage: queued while the database is known to
    // be away, or queued when an outage began (all of those at once), or given up at a stop. A stop or crash then
    // leaves it to the next start on this data dir. While the database answers nothing is kept: an fsync per
    // finding would slow every abnormal reading for the sake of the milliseconds its write takes.
    const keep = (queued: boolean) => {
      if (journal) this.#keep(journal, queued);
    };
    // Once findings wait on disk only, later ones join them there, so that they are written in the order found.
    if (this.#waiting >= this.#maxWaiting || (this.#overflowed && journal)) {
      if (!journal) {
        // A timer's write (an escalation, a reminder) or an orphan's resolution: each sweep decides these again on
        // the alert as it is (#sweepTimers), so the next sweep after the outage escalates or reminds what is due.
        log.error({ waiting: this.#waiting }, 'alert transitions wait for the shared database: this escalation, reminder or resolution is dropped, and the next sweep decides it again');
        return true;
      }
      keep(false);
      if (journal.seq !== undefined) {
        this.#overflowed = true;
        return false;
      }
      // The data dir could not keep it (#keep logged why): it waits in memory past the bound. A finding is the only
      // record of its reading's danger (the reading is evaluated once); dropped, its alert never opened.
    }
    if (journal?.seq !== undefined) this.#queuedFindings.add(journal.seq);
    else if (journal) {
      if (this.#outage) keep(true);
      else this.#unkept.add(journal);
    }
    this.#waiting++;
    // Written, or never writable: the finding no longer waits.
    const finished = () => {
      if (!journal) return;
      this.#unkept.delete(journal);
      if (journal.seq === undefined) return;
      // Only once it is cleared: one the data dir failed to clear stays marked queued, so that no pass over the
      // waiting findings in this process writes it again (the next start asks first: #noteWriting).
      this.#d.waitingFindings?.done(journal.seq);
      this.#queuedFindings.delete(journal.seq);
    };
    this.#queue.push({ transition: transition as Transition<unknown>, journal, keep, finished });
    if (!this.#draining) {
      this.#draining = true;
      // #drain handles its own failures; should one escape it all the same (a bug), the chain must not stay
      // rejected, every later drain skipped: it is logged, and the next transition queued drains what is left.
      this.#writes = this.#writes.then(() => this.#drain()).catch((err: unknown) => this.#d.log.error({ err, waiting: this.#waiting }, 'the queue of shared alert transitions failed: the next transition queued drains it again'));
    }
    return true;
  }

  /**
   * Writes the queued shared transitions from the front, those PostgreSQL can take together in one transaction at
   * a time (alerts/shared/shared-transitions.ts), until none is left. Through an outage the front is tried again,
   * with those behind it, after a pause; through a fault of the whole batch that is no outage, a few times, and then
   * its first is given up (#giveUpFront: a finding is kept in the data dir). One that fails on its own (its outcome:
   * its alert changed under the lock, its write refused, its decision threw) is given up at once, as that first is,
   * unless it was written (only what follows its commit failed: written again, it would count twice); the rest go on.
   */
  async #drain(): Promise<void> {
    const { transitions, log } = this.#d;
    try {
      for (let failures = 0, faults = 0; this.#queue.length > 0; ) {
        // Stopping during an outage: each try would wait out the connection timeout (10 s), one batch after the other.
        if (this.#closing && this.#outage) {
          for (const q of this.#queue.splice(0)) {
            this.#givenUp++;
            q.keep(true);
            this.#unqueued();
          }
          return;
        }
        let outcomes: TransitionOutcome[];
        try {
          outcomes = await runTogether(transitions, this.#queue.slice(0, TOGETHER_MAX).map((q) => q.transition), this.#noteWriting);
          this.#outage = false;
          failures = 0;
          faults = 0;
        } catch (err) {
          this.#outage = isOutage(err);
          if (this.#outage) {
            this.#keepUnkept();
            this.#noteUncertain();
          }
          if (this.#outage && !this.#closing) {
            if (failures === 0) log.warn({ err }, 'the shared database does not answer: alert transitions wait for it');
            await new Promise((resolve) => setTimeout(resolve, OUTAGE_RETRY_MS[Math.min(failures++, OUTAGE_RETRY_MS.length - 1)]));
            continue;
          }
          if (this.#outage) {
            // Stopping: the queue is given up (above), not tried again.
            log.error({ err }, 'an alert transition could not be written to the shared database');
            continue;
          }
          // Neither an outage nor one transition's own failure (answered as its outcome): the batch failed whole
          // (the replica's SQLite busy or failing as it catches up under the lock, a bug). Nothing says the first
          // transition is at fault, and dropping it was an alert that never opened: the batch is tried again after a
          // pause, a few times (a busy replica is free again within seconds), and then the first is given up, kept
          // in the data dir, so that the rest go on.
          if (faults < FAULT_RETRY_MS.length) {
            if (faults === 0) log.warn({ err }, 'a batch of alert transitions failed (no outage): it is tried again');
            await new Promise((resolve) => setTimeout(resolve, FAULT_RETRY_MS[faults++]));
            continue;
          }
          faults = 0;
          this.#giveUpFront(err);
          continue;
        }
        let uncleared: { count: number; first: unknown } | undefined;
        for (const outcome of outcomes) {
          if (!outcome.ok && !outcome.written) {
            // It failed on its own (its alert changed under the lock, PostgreSQL refused its write, its decision
            // threw) and nothing of it was written: cleared, its finding was an alert that never opened. Given up
            // as one whose batch kept failing is: kept in the data dir and tried again.
            this.#giveUpFront(outcome.error, true);
            continue;
          }
          if (!outcome.ok) {
            // Written: only what follows its commit failed. Tried again, it would be written twice (its reading
            // counted twice, a second notification): it is done, as a written one.
            log.error({ err: outcome.error }, 'an alert transition was written to the shared database, but what follows its commit failed: it is not written again');
          }
          // The data dir failing to forget one written finding must not stop the others' completion, nor the
          // queue: a throw here left the rest of the batch queued and every later drain chained on a rejection.
          try {
            this.#queue.shift()!.finished();
          } catch (err) {
            uncleared = { count: (uncleared?.count ?? 0) + 1, first: uncleared ? uncleared.first : err };
          }
          this.#unqueued();
        }
        if (uncleared) {
          log.error(
            { err: uncleared.first, count: uncleared.count },
            'findings written to the shared database could not be cleared from the waiting findings in the data dir: the next start on it finds them noted with the transaction that wrote them, and takes them as written',
          );
        }
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * The front transition was not written: it failed in every batch it led (#drain, FAULT_RETRY_MS), though not as
   * an outage, or it failed `alone` (its outcome: its alert changed under the lock, PostgreSQL refused its write, its
   * decision threw). It leaves the queue, so that the rest go on. A finding is kept in the data dir, not cleared: it
   * is queued again in GIVEN_UP_RETRY_MS, and by the next start on the data dir if this process stops first; it is
   * counted (`vigil_alert_findings_given_up_total`) and stays in `vigil_alert_findings_waiting` until written. A
   * timer's write or an orphan's resolution the next sweep decides again.
   */
  #giveUpFront(err: unknown, alone = false): void {
    const { log } = this.#d;
    const q = this.#queue.shift()!;
    const journal = q.journal;
    const why = alone ? 'could not be written to the shared database: it failed on its own (no outage: its alert changed under the lock, PostgreSQL refused its write, or its decision threw)' : 'could not be written to the shared database after several tries (no outage)';
    if (!journal) {
      log.error({ err }, `an alert escalation, reminder or resolution ${why}: the next sweep decides it again`);
    } else {
      q.keep(false);
      this.#findingsGivenUp++;
      if (journal.seq !== undefined) {
        // Not queued any more: the next pass over the waiting findings takes it again.
        this.#queuedFindings.delete(journal.seq);
        log.error({ err, seq: journal.seq }, `an alert finding ${why}: it is kept in the data dir, tried again later and at the next start`);
        this.#requeueIn(this.#givenUpRetryMs);
      } else {
        log.error({ err }, `an alert finding ${why}, and the data dir could not keep it: it is lost`);
      }
    }
    this.#unqueued();
  }

  /** A queued transition is written or given up. */
  #unqueued(): void {
    this.#waiting--;
    if (this.#waiting === 0 && this.#overflowed && !this.#closing) this.#queueWaitingFindings();
  }

  #keep(journal: Journaled, queued: boolean): void {
    this.#unkept.delete(journal);
    if (journal.seq !== undefined || !this.#d.waitingFindings) return;
    try {
      journal.seq = journal.keep();
      if (queued) this.#queuedFindings.add(journal.seq);
    } catch (err) {
      this.#d.log.error({ err }, 'a finding waiting for the shared database could not be kept in the state database: it waits in memory only');
    }
  }

  /** An outage began: every finding queued behind it is kept now, in one transaction (one fsync). */
  #keepUnkept(): void {
    if (this.#unkept.size === 0 || !this.#d.waitingFindings) return;
    const all = [...this.#unkept];
    try {
      this.#d.waitingFindings.together(() => {
        for (const j of all) this.#keep(j, true);
      });
    } catch (err) {
      this.#d.log.error({ err }, 'findings waiting for the shared database could not be kept in the state database: they wait in memory only');
    }
  }

  /**
   * Notes with each kept finding at the front of the queue the transaction that may have written it (its COMMIT's
   * answer was lost in the outage): a stop before PostgreSQL tells whether it committed leaves the finding to the
   * next start, which asks first rather than write it a second time (a reading counted twice, an event again).
   */
  #noteUncertain(): void {
    const { transitions, waitingFindings: waiting } = this.#d;
    if (!transitions.uncertainOf || !waiting) return;
    const notes: [Journaled & { seq: number }, string][] = [];
    for (const q of this.#queue.slice(0, TOGETHER_MAX)) {
      const txid = transitions.uncertainOf(q.transition);
      const journal = q.journal;
      if (txid !== undefined && journal?.seq !== undefined && journal.txid !== txid) notes.push([journal as Journaled & { seq: number }, txid]);
    }
    if (notes.length === 0) return;
    try {
      waiting.together(() => {
        for (const [journal, txid] of notes) waiting.noteTxid(journal.seq, txid);
      });
      for (const [journal, txid] of notes) journal.txid = txid;
    } catch (err) {
      this.#d.log.error({ err }, 'findings waiting for the shared database could not be noted with the transaction that may have written them: a next start may write them again');
    }
  }

  /**
   * Notes, before its COMMIT, the transaction that writes findings kept in the state database with each of them.
   * Once written a finding is cleared from there; if that fails (the data dir's disk), the next start found it and
   * wrote it again: its reading counted twice, an event again, and a critical alert back in range (latched, waiting
   * for a person) notified again as if the crisis had recurred. Noted, the next start asks PostgreSQL
   * (txid_status, `writtenIn`) and takes it as written. One fsync per batch, and only for kept findings (an
   * outage's): while PostgreSQL answers nothing is kept. A note that fails is logged and the write goes on: the
   * alert reaching PostgreSQL matters more than a repeat at a next start.
   */
  readonly #noteWriting: WritingHook = (written, txid) => {
    const waiting = this.#d.waitingFindings;
    if (!waiting) return;
    const writes = new Set(written);
    const kept: (Journaled & { seq: number })[] = [];
    for (const q of this.#queue.slice(0, TOGETHER_MAX)) {
      if (q.journal?.seq !== undefined && q.journal.txid !== txid && writes.has(q.transition)) kept.push(q.journal as Journaled & { seq: number });
    }
    if (kept.length === 0) return;
    try {
      waiting.together(() => {
        for (const j of kept) waiting.noteTxid(j.seq, txid);
      });
      for (const j of kept) j.txid = txid;
    } catch (err) {
      this.#d.log.error({ err }, 'findings being written to the shared database could not be noted with their transaction in the data dir: if the data dir also fails to clear them, a next start writes them again');
    }
  };

  /** Shared transitions queued and not yet written (waiting for PostgreSQL during an outage). */
  waiting(): number {
    return this.#waiting;
  }

  /** Findings given up after their batch kept failing, though not as an outage (#giveUpFront), since start: kept in the data dir. */
  findingsGivenUp(): number {
    return this.#findingsGivenUp;
  }

  /** Findings kept in the state database until PostgreSQL takes them (shared alerts), this run's and earlier ones'. */
  findingsWaiting(): number {
    return this.#d.waitingFindings?.count() ?? 0;
  }

  /** Resolves once the shared transitions queued so far are written (tests, and close). */
  settled(): Promise<void> {
    return this.#writes;
  }

  /** An alert's transition was applied here (shared alerts: any instance's, from the replica). */
  noteApplied(type: string, alert: Alert): void {
    if (alert.status !== 'resolved') this.#liveKeys.add(alert.patientId, alert.ruleId, alert.subject);
    else if (type === 'alert.resolved' || type === 'alert.acknowledged') this.forget(alert.patientId, alert.ruleId, alert.subject);
  }

  #drainIfNeeded(): void {
    if (!this.#undrained) return;
    this.#undrained = false;
    this.#d.feed.drain();
  }

  #noteLastReading(patientId: string, series: string, time: number): void {
    const key = `${patientId}\u0000${series}`;
    if ((this.#lastReadings.get(key) ?? 0) >= time) return;
    this.#lastReadings.set(key, time);
    this.#dirtyLastReadings.set(key, time);
  }

  #flushLastReadings(): void {
    if (this.#dirtyLastReadings.size === 0) return;
    this.#d.sweepState.saveLastReadings([...this.#dirtyLastReadings]);
    if (this.#d.sharedLastReadings) for (const [key, time] of this.#dirtyLastReadings) this.#unshared.set(key, Math.max(time, this.#unshared.get(key) ?? 0));
    this.#dirtyLastReadings.clear();
  }

  /** Shares this instance's newest measurement times, and takes every instance's. */
  async #shareLastReadings(): Promise<void> {
    const shared = this.#d.sharedLastReadings;
    if (!shared) return;
    this.#flushLastReadings();
    const mine = new Map(this.#unshared);
    this.#unshared.clear();
    try {
      if (mine.size > 0) await shared.save([...mine]);
    } catch (err) {
      for (const [key, time] of mine) if ((this.#unshared.get(key) ?? 0) < time) this.#unshared.set(key, time);
      throw err;
    }
    // Other instances' times inform this sweep; they are theirs to save, so they are not marked to save here.
    for (const [key, time] of await shared.load()) if ((this.#lastReadings.get(key) ?? 0) < time) this.#lastReadings.set(key, time);
  }

  /** Waits for trend evaluations in flight and saves what must survive a restart. */
  async close(): Promise<void> {
    this.#sweepStopped = true;
    // Not #sweeping: with shared alerts it waits for the writes, which in an outage end only once #closing is set.
    await this.#sweepFinding?.catch(() => undefined);
    await this.#trendQueue.catch(() => undefined);
    this.#closing = true;
    // A pass to come over the waiting findings is left to the next start (they are on disk).
    clearTimeout(this.#requeue);
    this.#requeue = undefined;
    await this.#writes;
    if (this.#givenUp > 0) this.#d.log.error({ count: this.#givenUp, kept: this.findingsWaiting() }, 'alert transitions waiting for the shared database were given up at stop (it did not answer); the findings among them are kept in the data dir for the next start');
    this.#flushLastReadings();
    await this.#shareLastReadings().catch((err: Error) => this.#d.log.warn({ err }, 'last-reading times could not be shared at close'));
  }
}

const NO_PATIENT = 'the patient is no longer in the registry';
const NO_RULE = 'the rule no longer applies to this patient';

/** Why nothing watches a live alert any more, if nothing does: see AlertEvaluation's #orphaned. */
function orphanedBecause(alert: Alert, patient: DirectoryPatient | undefined, rules: readonly Rule[] | undefined, devices: readonly DirectoryDevice[]): string | undefined {
  if (!patient) return NO_PATIENT;
  const rule = rules?.find((r) => r.id === alert.ruleId);
  if (!rule) return NO_RULE;
  if (rule.kind === 'device' && !devices.some((d) => d.id === alert.subject)) return 'the device is no longer assigned to this patient';
  if (rule.kind === 'missing' && devices.length === 0) return 'the patient has no device';
  return undefined;
}

/** Steps of a sweep that threw, and the first error, logged once at its end. */
interface SweepFailures {
  count: number;
  first?: unknown;
  /** The write lock was refused past the busy timeout: the sweep stopped there. */
  refused?: unknown;
}

/** SQLite's answer when another connection kept the write lock past the busy timeout (SQLITE_BUSY, and its extended codes). */
function lockRefused(err: unknown): boolean {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/** One transition a sweep decided to make, written with the others of its slice in one batch. */
type SweepWrite = () => void;
/** One step of a sweep (a patient, a device, a page of live alerts): it reads and decides, and gathers its writes. */
type SweepItem = (writes: SweepWrite[]) => void;

/** What a sweep read once at its start: every patient and their rules, every snooze. */
interface SweepSnapshot {
  readonly patients: ReadonlyMap<string, DirectoryPatient>;
  readonly rules: ReadonlyMap<string, readonly Rule[]>;
  /** The tier each snooze in force silences, by patient and rule. */
  readonly snoozed: ReadonlyMap<string, Severity>;
}

function isSorted(readings: readonly Reading[]): boolean {
  for (let i = 1; i < readings.length; i++) if (readings[i]!.time < readings[i - 1]!.time) return false;
  return true;
}

/**
 * Where a missing-data gap may start: the patient's enrolment in the rule's programme, or their first device
 * assignment if later; for rules that tolerate it, the end of a declared sensor warm-up.
 */
function countFrom(patient: DirectoryPatient, rule: MissingRule, devices: readonly DirectoryDevice[]): number {
  const programme = programmeOf(rule.id);
  const enrolled = (programme && patient.enrolledAt[programme]) ?? patient.createdAt;
  const assigned = Math.min(...devices.map((d) => d.assignedAt ?? patient.createdAt));
  const warmUp = rule.toleratesWarmUp ? Math.max(0, ...devices.map((d) => d.warmUpUntil ?? 0)) : 0;
  return Math.max(enrolled, assigned, warmUp);
}
