import type { DeviceRule, EventRule, MissingRule } from '../rules/schema.js';
import type { Finding } from './finding.js';
import type { ObservedReading } from './threshold.js';

const HOUR = 3_600_000;

/** No reading for longer than the plan expects, measured from the last reading or, without one, enrolment. */
export function evaluateMissing(rule: MissingRule, lastReadingAt: number | undefined, enrolledAt: number, now: number): Finding | undefined {
  if (lastReadingAt === undefined && rule.requireHistory) return undefined;
  const since = lastReadingAt ?? enrolledAt;
  const gapHours = (now - since) / HOUR;
  const base = { ruleId: rule.id, subject: '', observedAt: now, values: { gapHours: Math.round(gapHours * 10) / 10 } };
  if (gapHours > rule.maxGapHours) {
    const what = lastReadingAt === undefined ? 'since enrolment' : 'since the last one';
    return { ...base, severity: rule.severity, message: `${rule.title}: no reading for ${Math.floor(gapHours)} h ${what}`, score: gapHours / rule.maxGapHours - 1 };
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
}

export function evaluateDevice(rule: DeviceRule, device: DeviceState, now: number): Finding | undefined {
  const base = { ruleId: rule.id, subject: device.id, observedAt: now };
  if (rule.check === 'battery_low') {
    if (device.battery === null) return undefined;
    if (device.battery < rule.batteryBelow) {
      return { ...base, severity: rule.severity, values: { battery: device.battery }, message: `${rule.title}: ${device.id} at ${device.battery} %`, score: 1 - device.battery / 100 };
    }
    // A battery hovering at the line does not flap: clear only 5 points above it.
    return device.battery >= rule.batteryBelow + 5
      ? { ...base, severity: null, values: { battery: device.battery }, message: `${rule.title}: ${device.id} charged`, score: 0 }
      : undefined;
  }
  if (device.online) return { ...base, severity: null, values: {}, message: `${rule.title}: ${device.id} back online`, score: 0 };
  if (device.statusAt === null) return undefined;
  const hours = (now - device.statusAt) / HOUR;
  if (hours <= rule.offlineHours) return undefined;
  return { ...base, severity: rule.severity, values: { offlineHours: Math.floor(hours) }, message: `${rule.title}: ${device.id} offline for ${Math.floor(hours)} h`, score: hours / rule.offlineHours - 1 };
}
