import type { DeviceRule, EventRule, MissingRule } from '../rules/schema.js';
import type { Finding } from './finding.js';
import type { ObservedReading } from './threshold.js';

const HOUR = 3_600_000;

/**
 * The rule's title with the gap that applies to this patient: the catalogue's titles name the default ("No
 * blood pressure for 48 h"), and a per-patient override of maxGapHours must not leave the alert saying 48 h.
 */
function missingTitle(rule: MissingRule): string {
  // "No blood pressure for 48 h", "CGM gap over 2 h": the gap is the title's last number of hours.
  return rule.title.replace(/ (for|over) \d+(?:\.\d+)? h$/, ` $1 ${rule.maxGapHours} h`);
}

/**
 * No reading for longer than the plan expects. The gap is counted from the last reading, but never from before
 * `countFrom`: the patient's enrolment in the programme that brings the rule, a device assigned since, or the
 * end of a declared sensor warm-up. Enrolling a patient is not a gap.
 */
export function evaluateMissing(rule: MissingRule, lastReadingAt: number | undefined, countFrom: number, now: number): Finding | undefined {
  if (lastReadingAt === undefined && rule.requireHistory) return undefined;
  const since = Math.max(lastReadingAt ?? Number.NEGATIVE_INFINITY, countFrom);
  const gapHours = (now - since) / HOUR;
  const base = { ruleId: rule.id, subject: '', observedAt: now, values: { gapHours: Math.max(0, Math.round(gapHours * 10) / 10) } };
  if (gapHours > rule.maxGapHours) {
    const what = lastReadingAt === undefined || lastReadingAt < countFrom ? 'since enrolment or device assignment' : 'since the last one';
    return { ...base, severity: rule.severity, message: `${missingTitle(rule)}: no reading for ${Math.floor(gapHours)} h ${what}`, score: gapHours / rule.maxGapHours - 1 };
  }
  return { ...base, severity: null, message: `${missingTitle(rule)}: readings arriving again`, score: 0 };
}

/** A patient's plan, as the missing-data rule sees it (careloop/ fulfils it; docs/hub-protocol.md "Plans"). */
export type PlannedExpectation = 'not_planned' | { readonly alertAfterMissed: number; missedSince(since: number, now: number): number };

/**
 * Missing data against the patient's plan: the alert comes after `alertAfterMissed` planned measurements in a row
 * were missed (counted as the adherence figure counts them); a measurement the plan leaves out is not expected.
 */
export function evaluatePlannedMissing(rule: MissingRule, planned: PlannedExpectation, lastReadingAt: number | undefined, countFrom: number, now: number): Finding | undefined {
  if (planned === 'not_planned') return { ruleId: rule.id, subject: '', observedAt: now, values: { missed: 0 }, severity: null, message: `${rule.title}: not in the patient's plan`, score: 0 };
  if (lastReadingAt === undefined && rule.requireHistory) return undefined;
  const missed = planned.missedSince(Math.max(lastReadingAt ?? Number.NEGATIVE_INFINITY, countFrom), now);
  const base = { ruleId: rule.id, subject: '', observedAt: now, values: { missed } };
  if (missed >= planned.alertAfterMissed) {
    return { ...base, severity: rule.severity, message: `${rule.title}: ${missed} planned measurements missed in a row`, score: missed / planned.alertAfterMissed - 1 };
  }
  return { ...base, severity: null, message: `${rule.title}: readings arriving again`, score: 0 };
}

export function evaluateEvent(rule: EventRule, reading: ObservedReading): Finding | undefined {
  const confidence = reading.fields.confidence ?? 1;
  if (confidence < rule.minConfidence) return undefined;
  return {
    ruleId: rule.id,
    subject: '',
    severity: rule.severity,
    observedAt: reading.time,
    values: { confidence },
    message: `${rule.title} (confidence ${Math.round(confidence * 100)} %)`,
    score: confidence,
  };
}

export interface DeviceState {
  readonly id: string;
  readonly online: boolean;
  readonly battery: number | null;
  /** When the device last changed state or reported, epoch ms. */
  readonly statusAt: number | null;
  /** Readings from this device rejected within the rule's window (data quality). */
  readonly rejected?: number | undefined;
}

export function evaluateDevice(rule: DeviceRule, device: DeviceState, now: number): Finding | undefined {
  const base = { ruleId: rule.id, subject: device.id, observedAt: now };
  switch (rule.check) {
    case 'battery_low': {
      if (device.battery === null) return undefined;
      if (device.battery < rule.batteryBelow) {
        return { ...base, severity: rule.severity, values: { battery: device.battery }, message: `${rule.title}: ${device.id} at ${device.battery} %`, score: 1 - device.battery / 100 };
      }
      // A battery hovering at the line does not flap: clear only 5 points above it.
      return device.battery >= rule.batteryBelow + 5
        ? { ...base, severity: null, values: { battery: device.battery }, message: `${rule.title}: ${device.id} charged`, score: 0 }
        : { ...base, severity: null, band: true, values: { battery: device.battery }, message: `${rule.title}: ${device.id} near the line`, score: 0 };
    }
    case 'offline': {
      if (device.online) return { ...base, severity: null, values: {}, message: `${rule.title}: ${device.id} back online`, score: 0 };
      if (device.statusAt === null) return undefined;
      const hours = (now - device.statusAt) / HOUR;
      if (hours <= rule.offlineHours) return undefined;
      return { ...base, severity: rule.severity, values: { offlineHours: Math.floor(hours) }, message: `${rule.title}: ${device.id} offline for ${Math.floor(hours)} h`, score: hours / rule.offlineHours - 1 };
    }
    case 'rejecting': {
      const rejected = device.rejected ?? 0;
      const values = { rejected, windowHours: rule.rejectedWindowHours };
      if (rejected >= rule.rejectedAtLeast) {
        return { ...base, severity: rule.severity, values, message: `${rule.title}: ${device.id} had ${rejected} readings rejected in ${rule.rejectedWindowHours} h`, score: rejected / rule.rejectedAtLeast - 1 };
      }
      // Clear only once a whole window passes without a rejection.
      return rejected === 0
        ? { ...base, severity: null, values, message: `${rule.title}: ${device.id} readings accepted again`, score: 0 }
        : { ...base, severity: null, band: true, values, message: `${rule.title}: ${device.id} still has rejections`, score: 0 };
    }
    default: {
      const unreachable: never = rule.check;
      return unreachable;
    }
  }
}
