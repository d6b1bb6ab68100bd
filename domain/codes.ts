import type { ReadingType } from './reading-types.js';

/** A standard code for one stored field: LOINC for the observation, UCUM for its unit, IEEE 11073 MDC. */
export interface FieldCode {
  readonly loinc: string;
  readonly ucum: string;
  readonly mdc?: string;
  readonly display: string;
}

/** Panel-level code for reading types whose LOINC code groups several components (docs/clinical-reference.md). */
export interface ReadingCoding {
  readonly loinc: string;
  readonly mdc?: string;
  readonly display: string;
  /** Codes of the numeric fields stored for this type, keyed by stored field name. */
  readonly fields: Readonly<Record<string, FieldCode>>;
}

const heartRate: FieldCode = { loinc: '8867-4', ucum: '/min', mdc: '147842', display: 'Heart rate' };

// Source: docs/clinical-reference.md "Standard codes (LOINC, UCUM, IEEE 11073 MDC)".
export const READING_CODES: Readonly<Record<ReadingType, ReadingCoding>> = {
  blood_pressure: {
    loinc: '85354-9',
    mdc: '150020',
    display: 'Blood pressure panel',
    fields: {
      systolic: { loinc: '8480-6', ucum: 'mm[Hg]', mdc: '150021', display: 'Systolic blood pressure' },
      diastolic: { loinc: '8462-4', ucum: 'mm[Hg]', mdc: '150022', display: 'Diastolic blood pressure' },
      pulse: heartRate,
      irregular: { loinc: '', ucum: '1', display: 'Irregular heartbeat detected (1 = yes)' },
    },
  },
  glucose: {
    // The code depends on the source: capillary (meter) or interstitial (CGM); see glucoseLoinc().
    loinc: '41653-7',
    mdc: '160184',
    display: 'Glucose',
    fields: {
      value: { loinc: '41653-7', ucum: 'mg/dL', mdc: '160184', display: 'Glucose' },
      trend_rate: { loinc: '', ucum: 'mg/dL/min', display: 'CGM rate of change' },
    },
  },
  weight: {
    loinc: '29463-7',
    mdc: '188736',
    display: 'Body weight',
    fields: { value: { loinc: '29463-7', ucum: 'kg', mdc: '188736', display: 'Body weight' } },
  },
  spo2: {
    loinc: '59408-5',
    mdc: '150456',
    display: 'Oxygen saturation by pulse oximetry',
    fields: {
      value: { loinc: '59408-5', ucum: '%', mdc: '150456', display: 'SpO2' },
      pulse: heartRate,
    },
  },
  heart_rate: { loinc: '8867-4', mdc: '147842', display: 'Heart rate', fields: { value: heartRate } },
  temperature: {
    loinc: '8310-5',
    mdc: '150364',
    display: 'Body temperature',
    fields: { value: { loinc: '8310-5', ucum: 'Cel', mdc: '150364', display: 'Body temperature' } },
  },
  steps: {
    loinc: '55423-8',
    display: 'Number of steps',
    fields: {
      count: { loinc: '55423-8', ucum: '{steps}', display: 'Steps in period' },
      period_s: { loinc: '', ucum: 's', display: 'Length of the counting period' },
    },
  },
  fall: {
    loinc: '',
    display: 'Fall detected',
    fields: { confidence: { loinc: '', ucum: '1', display: 'Detector confidence (0-1)' } },
  },
};

/** CGM glucose is interstitial fluid, meter glucose is capillary blood: they carry different LOINC codes. */
export function glucoseLoinc(source: 'meter' | 'cgm'): string {
  return source === 'cgm' ? '99504-3' : '41653-7';
}
