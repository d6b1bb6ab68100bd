import { isTrendRule, type Alert, type Severity } from '../../alerts/index.js';
import { ATTENTION, type Attention, type Programme, type RiskScore } from '../../domain/index.js';
import { riskScore } from '../../reports/index.js';
import type { LatestReading, LatestReadings } from './latest-readings.js';

export interface WorklistPatient {
  readonly id: string;
  readonly name: string;
  readonly programmes: readonly Programme[];
  readonly careTeam: string | null;
}

export interface WorklistEntry<P extends WorklistPatient = WorklistPatient> {
  readonly patient: P;
  readonly attention: Attention;
  readonly liveAlerts: Readonly<Record<Severity, number>>;
  /** Live alerts nobody has acknowledged yet. */
  readonly unacknowledged: number;
  /** The most severe live alert, newest first among equals. */
  readonly topAlert: Pick<Alert, 'id' | 'severity' | 'title' | 'status' | 'updatedAt'> | null;
  readonly lastReadingAt: number | null;
  /** The three most recent types' latest readings: what a row has room for (the patient page has them all). */
  readonly latest: readonly Pick<LatestReading, 'type' | 'time' | 'fields'>[];
  /** The home-vitals risk score (reports/risk-score.ts): ranks within a group, never moves a patient out of it. */
  readonly risk: RiskScore;
}

const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, warning: 1, info: 2 };

/** An entry with what ranks it beyond its own fields: how long its patient has waited. */
export interface RankedEntry<P extends WorklistPatient = WorklistPatient> {
  readonly entry: WorklistEntry<P>;
  /** The oldest live alert's opening, or the last reading (the longest silence first), or never. */
  readonly waitingSince: number;
}

/** One patient's row: their live alerts counted, their latest readings and their risk score at `now`. */
export function worklistEntry<P extends WorklistPatient>(patient: P, alerts: readonly Alert[], latest: LatestReadings, now: number, silentAfterMs: number, spo2Scale2: boolean): RankedEntry<P> {
  const counts: Record<Severity, number> = { critical: 0, warning: 0, info: 0 };
  let unacknowledged = 0;
  let top: Alert | null = null;
  for (const a of alerts) {
    counts[a.severity]++;
    if (a.status === 'open') unacknowledged++;
    if (!top || SEVERITY_ORDER[a.severity] < SEVERITY_ORDER[top.severity] || (a.severity === top.severity && a.updatedAt > top.updatedAt)) top = a;
  }
  const lastReadingAt = latest.lastAt(patient.id);
  const silent = lastReadingAt === null ? false : now - lastReadingAt > silentAfterMs;
  const attention: Attention = counts.critical ? 'critical' : counts.warning ? 'warning' : silent ? 'silent' : counts.info ? 'info' : 'ok';
  const entry: WorklistEntry<P> = {
    patient,
    attention,
    liveAlerts: counts,
    unacknowledged,
    topAlert: top ? { id: top.id, severity: top.severity, title: top.title, status: top.status, updatedAt: top.updatedAt } : null,
    lastReadingAt,
    latest: [...latest.of(patient.id).values()]
      .sort((a, b) => b.time - a.time)
      .slice(0, 3)
      .map((r) => ({ type: r.type, time: r.time, fields: r.fields })),
    risk: riskScore(latest.of(patient.id), alerts.filter((a) => isTrendRule(a.ruleId)), now, spo2Scale2 ? 2 : 1),
  };
  let waitingSince = lastReadingAt ?? Number.MAX_SAFE_INTEGER;
  if (alerts.length > 0) {
    waitingSince = Number.MAX_SAFE_INTEGER;
    for (const a of alerts) waitingSince = Math.min(waitingSince, a.openedAt);
  }
  return { entry, waitingSince };
}

/**
 * The worklist's order: open critical alerts first (unacknowledged before acknowledged), then warnings, then
 * patients gone silent, then the rest; within a group, the higher risk score, then the longest-waiting alert or
 * the longest silence first, then the name.
 */
export function rankOrder(a: RankedEntry, b: RankedEntry): number {
  return (
    ATTENTION.indexOf(a.entry.attention) - ATTENTION.indexOf(b.entry.attention) ||
    // Within critical and warning: someone still has to look at it before those already acknowledged.
    Math.sign(b.entry.unacknowledged) - Math.sign(a.entry.unacknowledged) ||
    // The risk score ranks within the group: the sicker-looking patient of two with the same alerts first.
    b.entry.risk.score - a.entry.risk.score ||
    a.waitingSince - b.waitingSince ||
    a.entry.patient.name.localeCompare(b.entry.patient.name)
  );
}

/** Each patient's live alerts, by patient id. */
export function alertsByPatient(liveAlerts: readonly Alert[]): Map<string, Alert[]> {
  const byPatient = new Map<string, Alert[]>();
  for (const a of liveAlerts) {
    const list = byPatient.get(a.patientId);
    if (list) list.push(a);
    else byPatient.set(a.patientId, [a]);
  }
  return byPatient;
}

/**
 * Ranks patients by what needs attention (`rankOrder`), each with their alert counts, latest readings and risk
 * score (home vitals, trend alerts).
 */
export function buildWorklist<P extends WorklistPatient>(
  patients: readonly P[],
  liveAlerts: readonly Alert[],
  latest: LatestReadings,
  now: number,
  silentAfterMs: number,
  /** Patients whose SpO2 is scored on NEWS2 scale 2 (a clinician-set 88-92 % target). */
  spo2Scale2: ReadonlySet<string> = new Set(),
): WorklistEntry<P>[] {
  const byPatient = alertsByPatient(liveAlerts);
  const ranked = patients.map((patient) => worklistEntry(patient, byPatient.get(patient.id) ?? [], latest, now, silentAfterMs, spo2Scale2.has(patient.id)));
  ranked.sort(rankOrder);
  return ranked.map((e) => e.entry);
}
