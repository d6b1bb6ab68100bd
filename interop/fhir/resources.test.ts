import { describe, expect, it } from 'vitest';
import type { Alert } from '../../domain/index.js';
import { BP_SLICE_MISREAD, fhirErrors, HL7_BP_EXAMPLE, profileErrors } from '../../test/support/fhir-validator.js';
import { collection, searchset } from './bundle.js';
import { capabilityStatement } from './capability.js';
import { toFlag } from './flag.js';
import { fromFhirId, toFhirId } from './ids.js';
import { toObservation, type ObservedReading } from './observation.js';
import { operationOutcome } from './operation-outcome.js';
import { toDevice, toPatient } from './registry-resources.js';
import type { Resource } from './types.js';

const T = Date.UTC(2026, 10, 28, 7, 30);
const at = (type: ObservedReading['type'], fields: Record<string, number>, tags: Record<string, string> = {}, time = T): ObservedReading => ({ patientId: 'p-ada_1', type, time, deviceId: 'cuff_7', fields, tags });

/** One reading of every type and variant Vigil stores (docs/device-protocol.md). */
const READINGS: readonly ObservedReading[] = [
  at('blood_pressure', { systolic: 142, diastolic: 88, pulse: 71 }),
  at('blood_pressure', { systolic: 150, diastolic: 95, irregular: 1 }),
  at('blood_pressure', { systolic: 120, diastolic: 80 }),
  at('glucose', { value: 104.5 }, { source: 'meter', meal: 'before' }),
  at('glucose', { value: 180, trend_rate: -1.5 }, { source: 'cgm' }),
  at('glucose', { hi: 1 }, { source: 'meter' }),
  at('glucose', { lo: 1 }, { source: 'meter' }),
  at('weight', { value: 82.35 }),
  at('spo2', { value: 94, pulse: 88 }),
  at('spo2', { value: 97 }),
  at('heart_rate', { value: 64 }),
  at('temperature', { value: 37.8 }),
  at('steps', { count: 5400, period_s: 3600 }),
  at('fall', { confidence: 0.93 }),
  at('fall', {}),
];

const alert: Alert = {
  id: 12, patientId: 'p-ada_1', ruleId: 'bp.high', subject: 'blood_pressure', status: 'resolved', severity: 'critical',
  title: 'Hypertensive crisis', message: 'systolic 206 > 180 mmHg', openedAt: T, updatedAt: T + 60_000, firstObservedAt: T, lastObservedAt: T,
  count: 1, latestValues: { systolic: 206 }, worstValues: { systolic: 206 }, worstScore: 1, late: false, clearSince: null, backInRangeAt: null,
  notifiedAt: T, renotifyCount: 0, lastRenotifyReason: null, escalationLevel: 0, escalatedAt: null, acknowledgedAt: T + 30_000,
  acknowledgedBy: 'user:alice', acknowledgeNote: null, resolvedAt: T + 60_000, resolvedBy: 'user:alice', resolveNote: 'called',
};

describe('FHIR R4 resources, validated against HL7 StructureDefinitions (base and vital signs profiles)', () => {
  it('maps every reading type to an Observation that validates, with LOINC codes, UCUM units and its profile', () => {
    for (const reading of READINGS) {
      const observation = toObservation(reading);
      expect(fhirErrors(observation), JSON.stringify(observation)).toEqual([]);
    }
  });

  it('puts blood pressure in one panel Observation with systolic, diastolic and pulse components', () => {
    const bp = toObservation(READINGS[0]!) as Resource & { component: { code: { coding: { code: string }[] }; valueQuantity: { value: number; code: string } }[] };
    expect(bp.meta?.profile).toEqual(['http://hl7.org/fhir/StructureDefinition/bp']);
    expect((bp.code as { coding: { code: string }[] }).coding[0]!.code).toBe('85354-9');
    expect(bp.valueQuantity).toBeUndefined();
    expect(bp.component.map((c) => [c.code.coding[0]!.code, c.valueQuantity.value, c.valueQuantity.code])).toEqual([
      ['8480-6', 142, 'mm[Hg]'],
      ['8462-4', 88, 'mm[Hg]'],
      ['8867-4', 71, '/min'],
    ]);
    expect(bp.subject).toEqual({ reference: 'Patient/p-ada.1' });
    expect(bp.device).toEqual({ reference: 'Device/cuff.7' });
    expect(bp.effectiveDateTime).toBe('2026-11-28T07:30:00.000Z');
  });

  it('codes glucose by where it was measured, and a meter HI as off scale high with no number', () => {
    const code = (r: ObservedReading) => ((toObservation(r).code as { coding: { code: string }[] }).coding[0]!.code);
    expect(code(READINGS[3]!)).toBe('41653-7');
    expect(code(READINGS[4]!)).toBe('99504-3');
    const hi = toObservation(READINGS[5]!);
    expect(hi.valueQuantity).toBeUndefined();
    expect(hi.valueString).toMatch(/^HI/);
    expect(hi.interpretation).toEqual([{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation', code: '>', display: 'Off scale high' }] }]);
  });

  it('gives the same reading the same Observation id, and different readings different ones', () => {
    const ids = READINGS.map((r) => toObservation(r).id);
    expect(toObservation(READINGS[0]!).id).toBe(ids[0]);
    expect(ids[0]).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    expect(new Set(ids).size).toBe(READINGS.length);
    // Two readings of one device and type in the same millisecond (different message ids) stay two Observations.
    expect(toObservation(at('weight', { value: 80 })).id).not.toBe(toObservation(at('weight', { value: 80.1 })).id);
    expect(toObservation(at('weight', { value: 80 }, {}, T + 1)).id).not.toBe(toObservation(at('weight', { value: 80 })).id);
  });

  it('maps patients, devices, alerts, bundles, the CapabilityStatement and errors to valid resources', () => {
    const patient = toPatient({ id: 'p-ada_1', name: 'Ada Example', createdAt: T });
    const device = toDevice({ id: 'cuff_7', patientId: 'p-ada_1', revokedAt: null, firmware: '2.1.0' });
    const revoked = toDevice({ id: 'old', patientId: null, revokedAt: T, firmware: null });
    const flag = toFlag(alert);
    const open = toFlag({ ...alert, status: 'open', severity: 'warning', resolvedAt: null });
    for (const r of [patient, device, revoked, flag, open]) expect(fhirErrors(r), JSON.stringify(r)).toEqual([]);
    expect(flag).toMatchObject({ status: 'inactive', period: { start: '2026-11-28T07:30:00.000Z', end: '2026-11-28T07:31:00.000Z' } });
    expect(open).toMatchObject({ status: 'active', period: { start: '2026-11-28T07:30:00.000Z' } });
    const all = [patient, device, ...READINGS.map(toObservation), flag];
    const base = 'https://vigil.example/fhir';
    expect(fhirErrors(collection(base, all, T))).toEqual([]);
    expect(fhirErrors(searchset(base, 'Observation', new URLSearchParams({ patient: 'p-ada.1' }), { resources: all.slice(2), offset: 20, count: 20, more: true }, T))).toEqual([]);
    expect(fhirErrors(searchset(base, 'Flag', new URLSearchParams(), { resources: [], offset: 0, count: 20, more: false, total: 0 }, T))).toEqual([]);
    expect(fhirErrors(capabilityStatement(base, '0.1.0', T))).toEqual([]);
    for (const status of [400, 401, 403, 404, 500]) expect(fhirErrors(operationOutcome(status, 'VIGIL_ERR_NOT_FOUND', 'x'))).toEqual([]);
  });

  it('is not a validator that passes everything: a panel without its diastolic component fails the bp profile', () => {
    const bp = toObservation(at('blood_pressure', { systolic: 142 }));
    expect(fhirErrors(bp).join('\n')).toMatch(/expected 2\.\.\*, but found 1/);
    const { status: _status, ...noStatus } = toObservation(READINGS[10]!);
    expect(fhirErrors(noStatus as Resource).join('\n')).toMatch(/Observation\.status/);
    expect(fhirErrors({ ...toPatient({ id: 'x', name: 'X', createdAt: T }), active: 'yes' }).join('\n')).toMatch(/Patient\.active/);
  });

  it("exempts only what the validator also reports for HL7's own blood pressure example against the bp profile", () => {
    expect(profileErrors(HL7_BP_EXAMPLE)).toEqual([]);
    expect(profileErrors(HL7_BP_EXAMPLE, 'http://hl7.org/fhir/StructureDefinition/bp')).toEqual(BP_SLICE_MISREAD);
    // Vigil's panel draws exactly the same, and nothing else.
    expect(profileErrors(toObservation(READINGS[0]!), 'http://hl7.org/fhir/StructureDefinition/bp')).toEqual(BP_SLICE_MISREAD);
  });

  it('maps Vigil ids to FHIR ids and back one to one', () => {
    for (const id of ['p-1a2b', 'cuff_7', 'A_b-C_9']) {
      expect(toFhirId(id)).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
      expect(fromFhirId(toFhirId(id))).toBe(id);
    }
    expect(fromFhirId('has space')).toBeUndefined();
  });
});
