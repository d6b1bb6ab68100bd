import type Database from 'better-sqlite3';
import { addDays, hubReplySchema, localDate, VigilError, type HubReply, type InboxMessage, type ReadingType } from '../domain/index.js';
import type { ReplyProblem } from '../gateway/index.js';
import type { RangeQuery, RawPoint } from '../ingest/index.js';
import { actorName, type Actor, type AuditLog, type StateDb } from '../state/index.js';
import { Checkins } from './checkins.js';
import { Inbox, newInboxId, type InboxEntry } from './inbox.js';
import { Medications, type Medication } from './medications.js';
import { MessageLog } from './messages.js';
import { Education, PLAN_TARGET } from './education.js';
import { localInstant, missedSince, slotsBetween, type PlannedMeasurement } from './plan.js';
import { PlanStore } from './plan-store.js';
import { describeIssues } from './describe-issues.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
/** A message waits this long for an offline hub; after that it is not delivered (docs/hub-protocol.md). */
export const MESSAGE_TTL_MS = 7 * DAY;

/** What the care loop needs to know of patients and their hubs (the registry, through app/). */
export interface CareDirectory {
  patient(id: string): { readonly id: string; readonly timeZone: string } | undefined;
  /** The patient's hub: an assigned, unrevoked device of kind hub (the first provisioned, if several). */
  hubOf(patientId: string): string | undefined;
  /** Every patient's hub at once (one read per scheduler tick, not one per patient). */
  hubs(): ReadonlyMap<string, string>;
}

export interface CareReadings {
  queryRaw(query: RangeQuery): Promise<RawPoint[]>;
}

/** Hands a payload to the broker for a hub's inbox (QoS 1; resolves once the broker took it). */
export type InboxSender = (hubId: string, payload: Buffer, expiresAt: number) => Promise<void>;

/** What the missing-data rule asks of a patient's plan (alerts/ declares the same shape as its port). */
export type PlannedExpectation =
  | 'not_planned'
  | { readonly alertAfterMissed: number; missedSince(since: number, now: number): number };

export interface CareLoopOptions {
  readonly db: StateDb;
  readonly audit: Pick<AuditLog, 'record'>;
  readonly readings: CareReadings;
  readonly directory: CareDirectory;
  readonly log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly now?: () => number;
}

export interface MeasurementAdherence {
  readonly type: ReadingType;
  readonly continuous: boolean;
  readonly planned: number;
  readonly arrived: number;
  /** arrived / planned, or null when nothing was planned yet in the period. */
  readonly share: number | null;
}

export interface MedicationAdherence {
  readonly medicationId: string;
  readonly name: string;
  readonly dose: string;
  readonly taken: number;
  readonly skipped: number;
  readonly missed: number;
  /** Doses whose window is still open. */
  readonly pending: number;
  /** taken / (taken + skipped + missed), or null before the first dose window closed. */
  readonly share: number | null;
}

/** The id of an inbox message Vigil wrote (its own JSON), or undefined. */
function inboxIdOf(payload: Buffer): string | undefined {
  try {
    const id: unknown = (JSON.parse(payload.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

const problem = (ref: string, code: ReplyProblem['code'], message: string): ReplyProblem => ({ ref, code, message });
const iso = (t: number) => new Date(t).toISOString();

/**
 * The care loop: plans and medication schedules per patient, reminders to the patient's hub at the planned
 * times (only when the reading has not come), the hub's receipts and answers, the messages both ways, and the
 * adherence figures, all from the same slots (plan.ts) that the missing-data rule counts.
 */
export class CareLoop {
  readonly plans: PlanStore;
  readonly medications: Medications;
  readonly inbox: Inbox;
  readonly messages: MessageLog;
  readonly education: Education;
  /** Symptom check-ins of the plan, and their answers (checkins.ts). */
  readonly checkins: Checkins;
  readonly #o: CareLoopOptions;
  readonly #now: () => number;
  #send: InboxSender | undefined;
  #onDosesMissed: ((patientIds: string[]) => void) | undefined;
  /** Reminder slots already found measured (not asked again every tick of their window). */
  readonly #measured = new Set<string>();
  #ticking: Promise<unknown> = Promise.resolve();

  constructor(options: CareLoopOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.plans = new PlanStore(options.db, options.audit);
    this.medications = new Medications(options.db, options.audit);
    this.inbox = new Inbox(options.db);
    this.messages = new MessageLog(options.db);
    this.education = new Education(options.db, options.audit);
    this.checkins = new Checkins(options.db, options.audit, this.inbox);
  }

  /** The device side, once it exists (it is built after the care loop, which handles its hubs' replies). */
  attachSender(send: InboxSender): void {
    this.#send = send;
  }

  /** Told which patients had doses counted missed on a tick (the adherence rules judge them then). */
  onDosesMissed(listener: (patientIds: string[]) => void): void {
    this.#onDosesMissed = listener;
  }

  /** Missed doses of a medication class in [from, to) (the adherence rules' port). */
  missedDoses(patientId: string, medicationClass: string, from: number, to: number): number {
    return this.inbox.missedOfClass(patientId, medicationClass, from, to);
  }

  /** The patient's hub, if one is provisioned. */
  hubOf(patientId: string): string | undefined {
    return this.#o.directory.hubOf(patientId);
  }

  /** One scheduler round at `now`: doses past their window become missed, reminders due go out, unsent ones retry. */
  tick(now: number = this.#now()): Promise<{ reminders: number; missed: number }> {
    const run = this.#ticking.then(() => this.#tick(now));
    this.#ticking = run.catch(() => undefined);
    return run;
  }

  async #tick(now: number): Promise<{ reminders: number; missed: number }> {
    const missedOf = this.inbox.markMissed(now);
    if (missedOf.length > 0) this.#onDosesMissed?.(missedOf);
    let reminders = 0;
    const hubs = this.#o.directory.hubs();
    for (const plan of this.plans.all()) {
      const hubId = hubs.get(plan.patientId);
      const patient = hubId === undefined ? undefined : this.#o.directory.patient(plan.patientId);
      if (!patient || !hubId) continue;
      for (const m of plan.measurements) {
        // A continuous sensor sends by itself; its gaps are the missing-data rule's to report.
        if (m.continuous) continue;
        for (const slot of slotsBetween(m, patient.timeZone, now - 2 * m.windowMinutes * MINUTE, now + 1)) {
          if (slot.dueAt > now || slot.to <= now || slot.dueAt < plan.createdAt) continue;
          const key = `${patient.id}|${m.type}|${slot.dueAt}`;
          if (this.#measured.has(key) || this.inbox.hasSlot(patient.id, 'measure_reminder', m.type, slot.dueAt)) continue;
          const arrived = await this.#o.readings.queryRaw({ patientId: patient.id, type: m.type, from: slot.from, to: now + 1 });
          if (arrived.length > 0) {
            this.#measured.add(key);
            continue;
          }
          const id = newInboxId('r');
          const message: InboxMessage = { v: 1, id, kind: 'measure_reminder', created: iso(now), expiresAt: iso(slot.to), measurement: m.type, dueAt: iso(slot.dueAt), ...this.education.wire(patient.id, PLAN_TARGET) };
          if (this.inbox.add({ id, patientId: patient.id, hubId, message, subject: m.type, dueAt: slot.dueAt, windowEndsAt: slot.to, createdAt: now, expiresAt: slot.to })) reminders += 1;
        }
      }
    }
    for (const med of this.medications.active()) reminders += this.#doseReminders(med, hubs.get(med.patientId), now);
    reminders += this.checkins.schedule(hubs, (id) => this.#o.directory.patient(id)?.timeZone, now);
    if (this.#measured.size > 100_000) this.#measured.clear();
    await this.#flush(now);
    return { reminders, missed: missedOf.length };
  }

  #doseReminders(med: Medication, hubId: string | undefined, now: number): number {
    const patient = hubId === undefined ? undefined : this.#o.directory.patient(med.patientId);
    if (!patient || !hubId) return 0;
    let added = 0;
    const today = localDate(now, patient.timeZone);
    for (const date of [addDays(today, -1), today]) {
      for (const time of med.times) {
        const dueAt = localInstant(date, time, patient.timeZone);
        const windowEndsAt = dueAt + med.windowMinutes * MINUTE;
        if (dueAt > now || windowEndsAt <= now || dueAt < med.startedAt) continue;
        if (this.inbox.hasSlot(patient.id, 'medication_reminder', med.id, dueAt)) continue;
        const id = newInboxId('d');
        const message: InboxMessage = {
          v: 1,
          id,
          kind: 'medication_reminder',
          created: iso(now),
          expiresAt: iso(windowEndsAt),
          medication: { id: med.id, name: med.name, dose: med.dose },
          dueAt: iso(dueAt),
          windowEndsAt: iso(windowEndsAt),
          ...this.education.wire(patient.id, PLAN_TARGET),
        };
        if (this.inbox.add({ id, patientId: patient.id, hubId, message, subject: med.id, dueAt, windowEndsAt, createdAt: now, expiresAt: windowEndsAt })) added += 1;
      }
    }
    return added;
  }

  /** Hands unsent, unexpired entries to the broker; one that fails stays unsent and is tried on the next tick. */
  async #flush(now: number): Promise<void> {
    const send = this.#send;
    if (!send) return;
    for (const entry of this.inbox.unsent(now)) {
      try {
        await send(entry.hubId, Buffer.from(entry.payload), entry.expiresAt);
        this.inbox.markSent(entry.id, this.#now());
      } catch (err) {
        this.#o.log.warn({ err, hubId: entry.hubId }, 'inbox message not handed to the broker; retrying on the next tick');
        return;
      }
    }
  }

  /** The hub's PUBACK of an inbox message (gateway, embedded broker). */
  inboxAcked(hubId: string, payload: Buffer): void {
    const id = inboxIdOf(payload);
    if (id !== undefined) this.inbox.acked(id, hubId, this.#now());
  }

  /**
   * Whether the broker may deliver this inbox message to the hub now (gateway, embedded broker, asked before
   * every delivery, an offline session's queue included): only while the hub serves the patient it was written
   * for. A hub handed to another patient would otherwise get the first patient's queued messages.
   */
  inboxDeliverable(hubId: string, payload: Buffer): boolean {
    const id = inboxIdOf(payload);
    const entry = id === undefined ? undefined : this.inbox.get(id);
    return entry !== undefined && this.#forHubNow(entry, hubId);
  }

  /** The entry was written for this hub and the patient the hub serves now. */
  #forHubNow(entry: InboxEntry, hubId: string): boolean {
    return entry.hubId === hubId && entry.patientId === this.#patientOfHub(hubId);
  }

  /**
   * A hub subscribed to its inbox on a session the broker did not keep (after a restart of the embedded
   * broker): what was sent to it and not acknowledged is sent again; the hub deduplicates by id.
   */
  inboxSubscribed(hubId: string): void {
    const send = this.#send;
    if (!send) return;
    const entries = this.inbox.unacked(hubId, this.#now());
    void (async () => {
      for (const entry of entries) await send(entry.hubId, Buffer.from(entry.payload), entry.expiresAt);
    })().catch((err: Error) => this.#o.log.warn({ err, hubId }, 'inbox messages not resent to a returning hub; they go when it subscribes again'));
  }

  /** A clinician's message to the patient's hub (from the patient view or an alert); audited. */
  async sendMessage(
    patientId: string,
    // alertRuleId: the rule of the alert the message is about, whose education items go with it.
    input: { text: string; measure?: ReadingType | undefined; alertId?: number | undefined; alertRuleId?: string | undefined },
    by: Actor,
    from: string,
  ): Promise<InboxEntry> {
    const hubId = this.#o.directory.hubOf(patientId);
    if (!hubId) throw new VigilError('VIGIL_ERR_CONFLICT', `patient ${patientId} has no hub to send messages to (provision one: vigil devices add --kind hub)`);
    const now = this.#now();
    const id = newInboxId('msg');
    const message: InboxMessage = { v: 1, id, kind: 'message', created: iso(now), expiresAt: iso(now + MESSAGE_TTL_MS), text: input.text, from, ...(input.measure ? { measure: input.measure } : {}), ...this.education.wire(patientId, input.alertRuleId) };
    this.#o.db.transaction(() => {
      this.inbox.add({ id, patientId, hubId, message, subject: '', dueAt: null, windowEndsAt: null, createdAt: now, expiresAt: now + MESSAGE_TTL_MS });
      this.messages.add({ id, patientId, direction: 'to_patient', text: input.text, at: now, author: actorName(by), replyTo: null, alertId: input.alertId ?? null, measure: input.measure ?? null });
      this.#o.audit.record(by, 'care.message.send', patientId, `message:${id}`, { alertId: input.alertId ?? null, measure: input.measure ?? null }, now);
    })();
    await this.#flush(now);
    return this.inbox.get(id)!;
  }

  /** A hub's reply (gateway HubSink): recorded, or the problem to report on its errors topic. */
  handleReply(hubId: string, payload: Buffer): ReplyProblem | undefined {
    let json: unknown;
    try {
      json = JSON.parse(payload.toString('utf8'));
    } catch {
      return problem('reply', 'VIGIL_ERR_NOT_JSON', 'the reply is not valid UTF-8 JSON');
    }
    const parsed = hubReplySchema.safeParse(json);
    if (!parsed.success) {
      const ref = typeof (json as { ref?: unknown })?.ref === 'string' ? String((json as { ref: string }).ref).slice(0, 64) : 'reply';
      return problem(ref, 'VIGIL_ERR_BAD_REPLY', describeIssues(parsed.error, 'reply').slice(0, 300));
    }
    return this.#record(hubId, parsed.data, this.#now());
  }

  #record(hubId: string, reply: HubReply, now: number): ReplyProblem | undefined {
    // The hub's clock says when the patient acted; never later than now.
    const at = Math.min(Date.parse(reply.at), now);
    const entry = reply.ref === undefined ? undefined : this.inbox.get(reply.ref);
    // A reply to a message written for another hub, or for the patient this hub served before it was handed on,
    // is refused: the person answering is not that message's patient.
    if (reply.ref !== undefined && (!entry || !this.#forHubNow(entry, hubId))) return problem(reply.ref, 'VIGIL_ERR_BAD_REPLY', `no inbox message ${reply.ref} for this hub`);
    switch (reply.type) {
      case 'delivered':
        this.inbox.delivered(entry!.id, at);
        return undefined;
      case 'read':
        this.inbox.read(entry!.id, at);
        return undefined;
      case 'taken':
      case 'skipped':
      case 'snoozed': {
        if (entry!.kind !== 'medication_reminder') return problem(entry!.id, 'VIGIL_ERR_BAD_REPLY', `${reply.type} answers a medication reminder; ${entry!.id} is a ${entry!.kind}`);
        if (at > entry!.windowEndsAt!) return problem(entry!.id, 'VIGIL_ERR_BAD_REPLY', `the dose window closed at ${iso(entry!.windowEndsAt!)}; the dose counts as missed`);
        if (reply.type === 'snoozed' && entry!.answer !== null && entry!.answer !== 'snoozed') return undefined;
        this.inbox.answer(entry!.id, reply.type, at);
        return undefined;
      }
      case 'checkin':
        if (at > entry!.windowEndsAt!) return problem(entry!.id, 'VIGIL_ERR_BAD_REPLY', `the check-in closed at ${iso(entry!.windowEndsAt!)}`);
        return this.checkins.record(entry!, reply, at, now);
      case 'message': {
        const patientId = entry?.patientId ?? this.#patientOfHub(hubId);
        if (!patientId) return problem('reply', 'VIGIL_ERR_DEVICE_UNASSIGNED', 'the hub is not assigned to a patient');
        const id = newInboxId('msg');
        this.#o.db.transaction(() => {
          this.messages.add({ id, patientId, direction: 'from_patient', text: reply.text, at, author: `hub:${hubId}`, replyTo: entry?.id ?? null, alertId: null, measure: null });
          this.#o.audit.record({ name: `hub:${hubId}`, origin: 'mqtt' }, 'care.message.receive', patientId, `message:${id}`, { replyTo: entry?.id ?? null }, now);
        })();
        return undefined;
      }
    }
  }

  /** Asked on every delivery to a hub and every reply: prepared once. */
  #hubPatient: Database.Statement<[string], { patient_id: string | null }> | undefined;

  #patientOfHub(hubId: string): string | undefined {
    this.#hubPatient ??= this.#o.db.prepare<[string], { patient_id: string | null }>("SELECT patient_id FROM devices WHERE id = ? AND kind = 'hub' AND revoked_at IS NULL");
    return this.#hubPatient.get(hubId)?.patient_id ?? undefined;
  }

  /**
   * The plan's view for the missing-data rules: undefined without a plan (the rules' own gaps apply). Read once for
   * all of the patient's rules, and judged in the time zone of the patient given (the sweep has every patient).
   */
  planOf(patient: { readonly id: string; readonly timeZone: string }): ((readingType: string, where: Readonly<Record<string, string>>) => PlannedExpectation) | undefined {
    const plan = this.plans.get(patient.id);
    if (!plan) return undefined;
    return (readingType, where) => {
      const cgm = where.source === 'cgm';
      const m = plan.measurements.find((p) => p.type === readingType && (readingType !== 'glucose' || p.continuous === cgm));
      if (!m) return 'not_planned';
      return { alertAfterMissed: m.alertAfterMissed, missedSince: (since, now) => missedSince(m, patient.timeZone, Math.max(since, plan.createdAt), now) };
    };
  }

  /** Measurement and medication adherence over the last `days` (not before the plan or the medication began). */
  async adherence(patientId: string, days: number, now: number = this.#now()): Promise<{ measurements: MeasurementAdherence[]; medications: MedicationAdherence[] }> {
    const patient = this.#o.directory.patient(patientId);
    if (!patient) throw new VigilError('VIGIL_ERR_NOT_FOUND', `patient ${patientId} does not exist`);
    const plan = this.plans.get(patientId);
    const measurements: MeasurementAdherence[] = [];
    for (const m of plan?.measurements ?? []) measurements.push(await this.#measurementAdherence(patientId, patient.timeZone, m, Math.max(now - days * DAY, plan!.createdAt), now));
    const medications = this.medications.of(patientId).map((med) => {
      const doses = this.inbox.doses(patientId, Math.max(now - days * DAY, med.startedAt), now).filter((d) => d.subject === med.id);
      const count = (answer: string) => doses.filter((d) => d.answer === answer).length;
      const taken = count('taken');
      const skipped = count('skipped');
      // A dose whose window closed since the last tick is missed already, though not yet marked.
      const missed = doses.filter((d) => d.answer === 'missed' || ((d.answer === null || d.answer === 'snoozed') && d.windowEndsAt! <= now)).length;
      const closed = taken + skipped + missed;
      return { medicationId: med.id, name: med.name, dose: med.dose, taken, skipped, missed, pending: doses.length - closed, share: closed > 0 ? taken / closed : null };
    });
    return { measurements, medications };
  }

  async #measurementAdherence(patientId: string, timeZone: string, m: PlannedMeasurement, from: number, now: number): Promise<MeasurementAdherence> {
    // Slots due since `from` whose window has closed (a window may open before the plan began).
    const slots = slotsBetween(m, timeZone, from - m.windowMinutes * MINUTE, now).filter((s) => s.dueAt >= from && s.to <= now);
    const first = slots[0];
    const points = first ? await this.#o.readings.queryRaw({ patientId, type: m.type, from: first.from, to: now }) : [];
    const times = points.filter((p) => m.type !== 'glucose' || (p.tags.source === 'cgm') === m.continuous).map((p) => p.time);
    const arrived = slots.filter((s) => times.some((t) => t >= s.from && t < s.to)).length;
    return { type: m.type, continuous: m.continuous, planned: slots.length, arrived, share: slots.length > 0 ? arrived / slots.length : null };
  }
}
