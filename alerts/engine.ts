import { EventEmitter } from 'node:events';
import { VigilError, type Programme, type Reading } from '../domain/index.js';
import type { AggregatePoint, RangeQuery, RawPoint } from '../ingest/index.js';
import { actorName, AlertStore, type Actor, type Alert, type AlertEvent, type AlertEventType, type AlertFilter, type AuditFilter } from './alert-store.js';
import { evaluateAverage, evaluateChange, evaluateDrop, evaluateTimeBelow } from './evaluate/history.js';
import type { Finding } from './evaluate/finding.js';
import { evaluateDevice, evaluateEvent, evaluateMissing, type DeviceState } from './evaluate/sweep-rules.js';
import { evaluateThreshold, type ObservedReading } from './evaluate/threshold.js';
import { findRule } from './rules/catalogue.js';
import { applyOverride, effectiveRules } from './rules/effective.js';
import { ruleOverrideSchema, severityRank, type Rule, type RuleOverride, type Severity } from './rules/schema.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The reading history trend rules look at: the reading store's range queries. */
export interface ReadingHistory {
  queryRaw(query: RangeQuery): Promise<RawPoint[]>;
  queryAggregate(query: RangeQuery & { bucketMs: number }): Promise<AggregatePoint[]>;
}

/** What the engine needs to know of patients and devices. */
export interface PatientDirectory {
  patient(id: string): { id: string; programmes: readonly Programme[]; createdAt: number } | undefined;
  patients(): { id: string; programmes: readonly Programme[]; createdAt: number }[];
  devices(): (DeviceState & { patientId: string | null; revokedAt: number | null })[];
}

export interface AlertEngineOptions {
  readonly store: AlertStore;
  readonly history: ReadingHistory;
  readonly directory: PatientDirectory;
  readonly log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  /** An unacknowledged critical alert escalates after this long, and again after each further period. */
  readonly escalateAfterMs: number;
  readonly maxEscalationLevel?: number;
  readonly now?: () => number;
}

function liveKey(patientId: string, ruleId: string, subject: string): string {
  return `${patientId}\u0000${ruleId}\u0000${subject}`;
}

function seriesKeys(reading: Reading): string[] {
  return [reading.type, ...Object.entries(reading.tags).map(([k, v]) => `${reading.type}|${k}=${v}`)];
}

function seriesOf(rule: { readingType: string; where: Readonly<Record<string, string>> }): string {
  const [entry] = Object.entries(rule.where);
  return entry ? `${rule.readingType}|${entry[0]}=${entry[1]}` : rule.readingType;
}

/**
 * The alerts engine: evaluates rules on every committed reading (threshold and event rules), on every stored
 * batch (trend rules, which need the patient's history), and on a schedule (missing data, devices,
 * escalation), and keeps one live alert per patient, rule and subject through its lifecycle. Every
 * transition is stored with its event in one transaction and emitted as 'event' in sequence order.
 */
export class AlertEngine extends EventEmitter<{ event: [AlertEvent] }> {
  readonly #o: AlertEngineOptions;
  readonly #store: AlertStore;
  readonly #now: () => number;
  readonly #ruleCache = new Map<string, Rule[]>();
  readonly #lastReadings = new Map<string, number>();
  readonly #dirtyLastReadings = new Map<string, number>();
  #emittedSeq: number;
  #trendQueue: Promise<void> = Promise.resolve();
  /** Live alerts by patient, rule and subject: a clear finding with no live alert needs no database work. */
  readonly #liveKeys: Set<string>;
  /** The rules of each patient, re-read at most once a second (the CLI may change them from another process). */
  readonly #patientRules = new Map<string, { at: number; rules: Rule[] }>();
  /** Events were written since they were last emitted. */
  #undrained = false;

  constructor(options: AlertEngineOptions) {
    super();
    this.#o = options;
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
    this.#emittedSeq = this.#store.lastSeq();
    this.#liveKeys = new Set(this.#store.liveKeys().map((k) => liveKey(k.patientId, k.ruleId, k.subject)));
    for (const [k, v] of this.#store.lastReadings()) this.#lastReadings.set(k, v);
  }

  /** The rules that apply to a patient now (defaults, programmes, overrides). */
  rulesFor(patientId: string): Rule[] {
    const now = this.#now();
    const cached = this.#patientRules.get(patientId);
    if (cached && now - cached.at < 1000) return cached.rules;
    const rules = this.#resolveRules(patientId);
    if (this.#patientRules.size > 100_000) this.#patientRules.clear();
    this.#patientRules.set(patientId, { at: now, rules });
    return rules;
  }

  #resolveRules(patientId: string): Rule[] {
    const patient = this.#o.directory.patient(patientId);
    if (!patient) return [];
    const overrides = this.#store.overrides(patientId);
    const key = JSON.stringify([patient.programmes, [...overrides]]);
    let rules = this.#ruleCache.get(key);
    if (!rules) {
      rules = effectiveRules(patient.programmes, overrides);
      if (this.#ruleCache.size > 1000) this.#ruleCache.clear();
      this.#ruleCache.set(key, rules);
    }
    return rules;
  }

  /** Threshold and event rules, on readings just made durable. */
  onCommitted(readings: readonly Reading[]): void {
    const now = this.#now();
    for (const reading of readings) {
      for (const key of seriesKeys(reading)) this.#noteLastReading(reading.patientId, key, reading.time);
      for (const rule of this.rulesFor(reading.patientId)) {
        if (!('readingType' in rule) || rule.readingType !== reading.type) continue;
        const finding =
          rule.kind === 'threshold' ? evaluateThreshold(rule, reading) : rule.kind === 'event' ? evaluateEvent(rule, reading) : undefined;
        if (finding) this.#apply(reading.patientId, rule, finding, reading.late, now);
      }
    }
    if (this.#undrained) this.#drainEvents();
  }

  /** Trend rules, on readings now in the store; evaluated in order, one batch after the other. */
  onStored(readings: readonly Reading[]): Promise<void> {
    const latest = new Map<string, { patientId: string; type: Reading['type']; time: number; late: boolean }>();
    for (const r of readings) {
      const key = `${r.patientId}|${r.type}`;
      const seen = latest.get(key);
      if (!seen || r.time > seen.time) latest.set(key, { patientId: r.patientId, type: r.type, time: r.time, late: r.late });
    }
    // A failed batch must not stop the queue: each batch starts from a settled promise.
    this.#trendQueue = this.#trendQueue.catch(() => undefined).then(async () => {
      for (const item of latest.values()) {
        try {
          await this.#evaluateTrends(item.patientId, item.type, item.time, item.late);
        } catch (err) {
          this.#o.log.warn({ patientId: item.patientId, type: item.type, err: (err as Error).message }, 'trend rules could not be evaluated');
        }
      }
      this.#drainEvents();
    });
    return this.#trendQueue;
  }

  async #evaluateTrends(patientId: string, type: Reading['type'], at: number, late: boolean): Promise<void> {
    const now = this.#now();
    for (const rule of this.rulesFor(patientId)) {
      if (!('readingType' in rule) || rule.readingType !== type) continue;
      let finding: Finding | undefined;
      switch (rule.kind) {
        case 'average':
          finding = evaluateAverage(rule, await this.#raw(patientId, type, at - rule.windowDays * DAY, at), at);
          break;
        case 'change': {
          const span = Math.max(...rule.windows.map((w) => w.hours)) * HOUR + 12 * HOUR;
          finding = evaluateChange(rule, await this.#raw(patientId, type, at - span, at), at);
          break;
        }
        case 'time_below':
          finding = evaluateTimeBelow(rule, await this.#raw(patientId, type, at - rule.windowHours * HOUR, at), at);
          break;
        case 'drop': {
          const today = Math.floor(at / DAY) * DAY;
          const from = today - (rule.recentDays + rule.baselineDays) * DAY;
          const buckets = await this.#o.history.queryAggregate({ patientId, type, from, to: today, bucketMs: DAY });
          const totals = new Map(buckets.map((b) => [b.time, b.fields[rule.field]?.sum ?? 0]));
          finding = evaluateDrop(rule, totals, at);
          break;
        }
        default:
          continue;
      }
      if (finding) this.#apply(patientId, rule, finding, late, now);
    }
  }

  async #raw(patientId: string, type: Reading['type'], from: number, at: number): Promise<ObservedReading[]> {
    return this.#o.history.queryRaw({ patientId, type, from, to: at + 1, limit: 20_000 });
  }

  /** Missing data, device state and escalation: run by the scheduler. */
  sweep(): void {
    const now = this.#now();
    this.#flushLastReadings();
    for (const patient of this.#o.directory.patients()) {
      for (const rule of this.rulesFor(patient.id)) {
        if (rule.kind !== 'missing') continue;
        const last = this.#lastReadings.get(`${patient.id}\u0000${seriesOf(rule)}`);
        const finding = evaluateMissing(rule, last, patient.createdAt, now);
        if (finding) this.#apply(patient.id, rule, finding, false, now);
      }
    }
    for (const device of this.#o.directory.devices()) {
      if (!device.patientId || device.revokedAt !== null) continue;
      for (const rule of this.rulesFor(device.patientId)) {
        if (rule.kind !== 'device') continue;
        const finding = evaluateDevice(rule, device, now);
        if (finding) this.#apply(device.patientId, rule, finding, false, now);
      }
    }
    this.#escalate(now);
    this.#drainEvents();
  }

  #escalate(now: number): void {
    const max = this.#o.maxEscalationLevel ?? 3;
    for (const alert of this.#store.unacknowledged('critical')) {
      const due = alert.openedAt + (alert.escalationLevel + 1) * this.#o.escalateAfterMs;
      if (alert.escalationLevel >= max || now < due || this.#snoozed(alert.patientId, alert.ruleId, now)) continue;
      this.#store.transaction(() => {
        const updated = this.#store.update(alert.id, { escalationLevel: alert.escalationLevel + 1, escalatedAt: now, updatedAt: now });
        this.#store.addEvent('alert.escalated', updated, now, 'vigil');
      });
      this.#undrained = true;
    }
  }

  #snoozed(patientId: string, ruleId: string, now: number): boolean {
    const until = this.#store.snoozedUntil(patientId, ruleId);
    return until !== undefined && until > now;
  }

  #apply(patientId: string, rule: Rule, finding: Finding, late: boolean, now: number): void {
    const key = liveKey(patientId, rule.id, finding.subject);
    // The common case on a busy gateway: a normal reading and nothing to resolve.
    if (finding.severity === null && !this.#liveKeys.has(key)) return;
    this.#store.transaction(() => {
      const live = this.#store.live(patientId, rule.id, finding.subject);
      if (finding.severity === null) {
        if (live) this.#clear(live, rule, finding, now);
        return;
      }
      if (this.#snoozed(patientId, rule.id, now)) return;
      const lateNote = late ? ` (data arrived late: measured ${new Date(finding.observedAt).toISOString()})` : '';
      if (!live) {
        const alert = this.#store.insert({
          patientId,
          ruleId: rule.id,
          subject: finding.subject,
          status: 'open',
          severity: finding.severity,
          title: rule.title,
          message: finding.message + lateNote,
          openedAt: now,
          updatedAt: now,
          firstObservedAt: finding.observedAt,
          lastObservedAt: finding.observedAt,
          count: 1,
          latestValues: { ...finding.values },
          worstValues: { ...finding.values },
          worstScore: finding.score,
          late,
          clearSince: null,
          escalationLevel: 0,
          escalatedAt: null,
          acknowledgedAt: null,
          acknowledgedBy: null,
          acknowledgeNote: null,
          resolvedAt: null,
          resolvedBy: null,
          resolveNote: null,
        });
        this.#store.addEvent('alert.opened', alert, now, 'vigil');
        this.#liveKeys.add(key);
        this.#undrained = true;
        return;
      }
      const rises = severityRank(finding.severity) > severityRank(live.severity);
      const worse = rises || (finding.severity === live.severity && finding.score > live.worstScore);
      const newer = finding.observedAt >= live.lastObservedAt;
      const updated = this.#store.update(live.id, {
        count: live.count + 1,
        updatedAt: now,
        lastObservedAt: Math.max(live.lastObservedAt, finding.observedAt),
        ...(newer ? { latestValues: { ...finding.values }, message: finding.message + lateNote } : {}),
        ...(worse ? { worstValues: { ...finding.values }, worstScore: finding.score } : {}),
        ...(rises ? { severity: finding.severity, status: 'open' as const } : {}),
        late: live.late || late,
        clearSince: null,
      });
      this.#store.addEvent('alert.updated', updated, now, 'vigil', rises ? 'severity' : 'repeat');
      this.#undrained = true;
    });
  }

  #clear(live: Alert, rule: Rule, finding: Finding, now: number): void {
    // Judged on measurement time: a late reading from before the last abnormal one says nothing about now.
    if (finding.observedAt < live.lastObservedAt) return;
    const holdMs = rule.kind === 'threshold' ? rule.resolveAfterMinutes * 60_000 : 0;
    const clearSince = live.clearSince ?? finding.observedAt;
    if (finding.observedAt - clearSince >= holdMs) {
      const resolved = this.#store.update(live.id, {
        status: 'resolved',
        resolvedAt: now,
        resolvedBy: 'vigil',
        resolveNote: finding.message,
        updatedAt: now,
        clearSince,
      });
      this.#store.addEvent('alert.resolved', resolved, now, 'vigil');
      this.#liveKeys.delete(liveKey(live.patientId, live.ruleId, live.subject));
      this.#undrained = true;
    } else if (live.clearSince === null) {
      this.#store.update(live.id, { clearSince });
    }
  }

  acknowledge(alertId: number, by: Actor, note?: string): Alert {
    return this.#act(alertId, by, 'alert.acknowledged', note, (alert, now) => {
      if (alert.status !== 'open') throw new VigilError('VIGIL_ERR_CONFLICT', `alert ${alertId} is ${alert.status}`);
      return { status: 'acknowledged', acknowledgedAt: now, acknowledgedBy: actorName(by), acknowledgeNote: note ?? null, updatedAt: now };
    });
  }

  resolve(alertId: number, by: Actor, note?: string): Alert {
    return this.#act(alertId, by, 'alert.resolved', note, (alert, now) => {
      if (alert.status === 'resolved') throw new VigilError('VIGIL_ERR_CONFLICT', `alert ${alertId} is already resolved`);
      return { status: 'resolved', resolvedAt: now, resolvedBy: actorName(by), resolveNote: note ?? null, updatedAt: now };
    });
  }

  #act(alertId: number, by: Actor, type: AlertEventType, note: string | undefined, change: (alert: Alert, now: number) => Partial<Alert>): Alert {
    const now = this.#now();
    const result = this.#store.transaction(() => {
      const alert = this.#store.get(alertId);
      if (!alert) throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${alertId} does not exist`);
      const updated = this.#store.update(alertId, change(alert, now));
      this.#store.addEvent(type, updated, now, actorName(by));
      this.#store.audit(by, type, alert.patientId, `alert:${alertId}`, note ? { note } : undefined, now);
      return updated;
    });
    this.#drainEvents();
    return result;
  }

  snooze(patientId: string, ruleId: string, until: number, by: Actor, note?: string): void {
    this.#requirePatientRule(patientId, ruleId);
    const now = this.#now();
    if (until <= now) throw new VigilError('VIGIL_ERR_CONFIG', 'a snooze must end in the future');
    this.#store.transaction(() => {
      this.#store.snooze(patientId, ruleId, until, actorName(by), note, now);
      this.#store.audit(by, 'rule.snooze', patientId, ruleId, { until: new Date(until).toISOString(), note }, now);
    });
  }

  unsnooze(patientId: string, ruleId: string, by: Actor): void {
    const now = this.#now();
    this.#store.transaction(() => {
      if (this.#store.unsnooze(patientId, ruleId)) this.#store.audit(by, 'rule.unsnooze', patientId, ruleId, undefined, now);
    });
  }

  /** Changes any value of a rule for one patient; validated as a whole rule, effective at the next reading. */
  setOverride(patientId: string, ruleId: string, override: RuleOverride, by: Actor): Rule {
    const base = this.#requirePatientRule(patientId, ruleId);
    const parsed = ruleOverrideSchema.safeParse(override);
    if (!parsed.success) throw new VigilError('VIGIL_ERR_CONFIG', parsed.error.issues[0]?.message ?? 'invalid override');
    const effective = applyOverride(base, parsed.data);
    const now = this.#now();
    this.#store.transaction(() => {
      this.#store.setOverride(patientId, ruleId, parsed.data, actorName(by), now);
      this.#store.audit(by, 'rule.override', patientId, ruleId, parsed.data, now);
    });
    this.#patientRules.delete(patientId);
    return effective;
  }

  clearOverride(patientId: string, ruleId: string, by: Actor): void {
    const now = this.#now();
    this.#store.transaction(() => {
      if (this.#store.clearOverride(patientId, ruleId)) this.#store.audit(by, 'rule.reset', patientId, ruleId, undefined, now);
    });
    this.#patientRules.delete(patientId);
  }

  #requirePatientRule(patientId: string, ruleId: string): Rule {
    if (!this.#o.directory.patient(patientId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist`);
    if (!findRule(ruleId)) throw new VigilError('VIGIL_ERR_NOT_FOUND', `rule ${ruleId} does not exist`);
    // The rule as it applies to this patient before their own override (defaults and programmes).
    const withoutOwn = effectiveRules(this.#o.directory.patient(patientId)!.programmes, new Map()).find((r) => r.id === ruleId);
    return withoutOwn ?? findRule(ruleId)!;
  }

  overridesOf(patientId: string): Map<string, Record<string, unknown>> {
    return this.#store.overrides(patientId);
  }

  snoozesOf(patientId: string) {
    return this.#store.snoozes(patientId);
  }

  /** Appends to the audit log: the dashboard records views of patient data here, next to the alert actions. */
  recordAudit(by: Actor, action: string, patientId: string | null, target: string | null, details?: unknown): void {
    this.#store.audit(by, action, patientId, target, details, this.#now());
  }

  auditLog(filter?: AuditFilter) {
    return this.#store.auditLog(filter);
  }

  list(filter?: AlertFilter): Alert[] {
    return this.#store.list(filter);
  }

  get(alertId: number): { alert: Alert; events: AlertEvent[] } | undefined {
    const alert = this.#store.get(alertId);
    return alert ? { alert, events: this.#store.eventsOf(alertId) } : undefined;
  }

  /** The sequence number of the newest stored transition: a client that has seen it is up to date. */
  lastSeq(): number {
    return this.#store.lastSeq();
  }

  eventsAfter(seq: number, limit?: number): AlertEvent[] {
    return this.#store.eventsAfter(seq, limit);
  }

  /** Emits, in sequence order, every stored event not emitted yet: this process's and the CLI's. */
  #drainEvents(): void {
    this.#undrained = false;
    for (;;) {
      const events = this.#store.eventsAfter(this.#emittedSeq, 500);
      if (events.length === 0) return;
      for (const event of events) {
        this.#emittedSeq = event.seq;
        // Resolutions made elsewhere (the CLI, the API) end the alert's life here too.
        if (event.type === 'alert.resolved') this.#liveKeys.delete(liveKey(event.alert.patientId, event.alert.ruleId, event.alert.subject));
        this.emit('event', event);
      }
    }
  }

  /** Picks up transitions made by other processes (the CLI). */
  poll(): void {
    this.#drainEvents();
  }

  #noteLastReading(patientId: string, series: string, time: number): void {
    const key = `${patientId}\u0000${series}`;
    if ((this.#lastReadings.get(key) ?? 0) >= time) return;
    this.#lastReadings.set(key, time);
    this.#dirtyLastReadings.set(key, time);
  }

  #flushLastReadings(): void {
    if (this.#dirtyLastReadings.size === 0) return;
    this.#store.saveLastReadings([...this.#dirtyLastReadings]);
    this.#dirtyLastReadings.clear();
  }

  /** Waits for trend evaluations in flight and saves what must survive a restart. */
  async close(): Promise<void> {
    await this.#trendQueue.catch(() => undefined);
    this.#flushLastReadings();
  }

  liveCounts(): Record<Severity, number> {
    const counts: Record<Severity, number> = { info: 0, warning: 0, critical: 0 };
    for (const row of this.#store.countLive()) counts[row.severity] = row.n;
    return counts;
  }
}
