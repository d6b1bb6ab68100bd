import { addDays, localDate, startOfLocalDay, type LocalDate, type ProgrammeRow } from '../domain/index.js';
import type { ReadingStore } from '../ingest/index.js';
import { deviceSupplyCode, PROGRAMME_PERIOD_DAYS, SYSTEM_ACTOR } from './programme-definitions.js';
import { round } from './percentile.js';

/** What the programme report reads of the reading store: an existence probe per local day. */
export type ProgrammeReadings = Pick<ReadingStore, 'querySpansWithReadings'>;

export interface ProgrammePatient {
  readonly id: string;
  readonly name: string;
  readonly careTeam: string | null;
  readonly timeZone: string;
  readonly createdAt: number;
  readonly enrolledAt: Readonly<Partial<Record<string, number>>>;
}

/** The fields of an alert the report reads (the alert lifecycle's person actions and their notes). */
export interface ProgrammeAlert {
  readonly openedAt: number;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly acknowledgeNote: string | null;
  readonly resolvedAt: number | null;
  readonly resolvedBy: string | null;
  readonly resolveNote: string | null;
}

/** Whole days from `a` to `b`, two local dates (YYYY-MM-DD): calendar arithmetic, no clock changes involved. */
export function daysFrom(a: LocalDate, b: LocalDate): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / 86_400_000);
}

/**
 * The 30-day period of `today`: periods run back to back from the first local day of monitoring (the earliest
 * programme enrolment, else the day the patient was registered), so each is the same 30 local days whenever
 * the report is run.
 */
export function currentPeriod(monitoringFrom: LocalDate, today: LocalDate): { index: number; from: LocalDate; to: LocalDate; elapsedDays: number } {
  const since = Math.max(0, daysFrom(monitoringFrom, today));
  const index = Math.floor(since / PROGRAMME_PERIOD_DAYS);
  const from = addDays(monitoringFrom, index * PROGRAMME_PERIOD_DAYS);
  return { index, from, to: addDays(from, PROGRAMME_PERIOD_DAYS - 1), elapsedDays: Math.max(0, Math.min(PROGRAMME_PERIOD_DAYS, daysFrom(from, today) + 1)) };
}

const isPerson = (actor: string | null) => actor !== null && actor !== SYSTEM_ACTOR;
const noted = (note: string | null) => note !== null && note.trim() !== '';

/**
 * The alert work people documented in [from, to): acknowledgements and resolutions by a person, the notes they
 * wrote with them, and the elapsed minutes from a person's acknowledgement to a person's resolution. Vigil does
 * not time anyone's work: elapsed minutes are when the alert was in someone's hands, not time spent on it.
 */
export function alertWork(alerts: readonly ProgrammeAlert[], from: number, to: number): ProgrammeRow['alerts'] {
  const inPeriod = (t: number | null): t is number => t !== null && t >= from && t < to;
  let acknowledged = 0;
  let resolved = 0;
  let notes = 0;
  let minutes = 0;
  let handled = 0;
  for (const a of alerts) {
    const ack = inPeriod(a.acknowledgedAt) && isPerson(a.acknowledgedBy);
    const res = inPeriod(a.resolvedAt) && isPerson(a.resolvedBy);
    if (ack) acknowledged += 1;
    if (res) resolved += 1;
    if (ack && noted(a.acknowledgeNote)) notes += 1;
    if (res && noted(a.resolveNote)) notes += 1;
    if (ack && res && a.resolvedAt! >= a.acknowledgedAt!) {
      handled += 1;
      minutes += (a.resolvedAt! - a.acknowledgedAt!) / 60_000;
    }
  }
  return { acknowledged, resolvedByPerson: resolved, notes, handled, elapsedMinutes: round(minutes) };
}

/** The patient's first local day of monitoring: the earliest programme enrolment, else registration. */
export function monitoringFrom(patient: ProgrammePatient): LocalDate {
  const times = Object.values(patient.enrolledAt).filter((t): t is number => t !== undefined);
  return localDate(times.length > 0 ? Math.min(...times) : patient.createdAt, patient.timeZone);
}

/**
 * One patient's programme row: the distinct local days of the current 30-day period with at least one reading
 * (every reading Vigil stores was transmitted by a registered device: there is no manual entry), the CMS
 * device-supply code those days reach, whether 16 days can still be reached, and the alert work of the period.
 */
export async function programmeRow(store: ProgrammeReadings, patient: ProgrammePatient, alerts: readonly ProgrammeAlert[], now: number): Promise<ProgrammeRow> {
  const tz = patient.timeZone;
  const today = localDate(now, tz);
  const start = monitoringFrom(patient);
  const period = currentPeriod(start, today);
  const dates: LocalDate[] = [];
  for (let i = 0; i < period.elapsedDays; i += 1) dates.push(addDays(period.from, i));
  const spans = dates.map((d) => ({ from: startOfLocalDay(d, tz), to: startOfLocalDay(addDays(d, 1), tz) }));
  const found = spans.length === 0 ? [] : await store.querySpansWithReadings({ patientId: patient.id, spans });
  const days = dates.filter((_, i) => found[i]);
  const remaining = PROGRAMME_PERIOD_DAYS - period.elapsedDays;
  const from = startOfLocalDay(period.from, tz);
  return {
    patientId: patient.id,
    name: patient.name,
    careTeam: patient.careTeam,
    timeZone: tz,
    monitoringFrom: start,
    period: { index: period.index + 1, from: period.from, to: period.to, elapsedDays: period.elapsedDays, remainingDays: remaining },
    daysWithReadings: days.length,
    dates: days,
    code: deviceSupplyCode(days.length),
    can16: days.length + remaining >= 16,
    alerts: alertWork(alerts, from, now + 1),
  };
}
