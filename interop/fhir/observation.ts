import { displayUnit, READING_CODES, type FieldCode, type ReadingType } from '../../domain/index.js';
import { observationId, toFhirId } from './ids.js';
import { categoryOf, codeOf, OBSERVATION_KINDS } from './observation-codes.js';
import { LOINC, UCUM, type CodeableConcept, type Quantity, type Resource } from './types.js';

/** A stored reading as the reading store returns it (`RawPoint`), with its patient and type. */
export interface ObservedReading {
  readonly patientId: string;
  readonly type: ReadingType;
  readonly time: number;
  readonly deviceId: string;
  readonly fields: Readonly<Record<string, number>>;
  readonly tags: Readonly<Record<string, string>>;
}

const INTERPRETATION = 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation';

function quantity(value: number, field: FieldCode): Quantity {
  return { value, unit: displayUnit(field.ucum) || field.ucum, system: UCUM, code: field.ucum };
}

function fieldCode(field: FieldCode): CodeableConcept {
  return field.loinc ? { coding: [{ system: LOINC, code: field.loinc, display: field.display }], text: field.display } : { text: field.display };
}

/** The components of these fields that the reading has; none at all is no `component` (FHIR has no empty arrays). */
function components(type: ReadingType, fields: Readonly<Record<string, number>>, names: readonly string[]): { component?: unknown[] } {
  const list = names.flatMap((name) => {
    const field = READING_CODES[type].fields[name];
    const value = fields[name];
    return field && value !== undefined ? [{ code: fieldCode(field), valueQuantity: quantity(value, field) }] : [];
  });
  return list.length > 0 ? { component: list } : {};
}

/** The value and components of each type: one exhaustive case per reading type. */
function valueOf(r: ObservedReading): Record<string, unknown> {
  const f = r.fields;
  switch (r.type) {
    case 'blood_pressure':
      // One Observation, the 85354-9 panel with systolic and diastolic components and no value of its own (R4 bp
      // profile); the pulse the cuff measured is a third component. An irregular rhythm the cuff flagged is a note.
      return {
        ...components(r.type, f, ['systolic', 'diastolic', 'pulse']),
        ...(f.irregular === 1 ? { note: [{ text: 'Irregular heartbeat detected by the device' }] } : {}),
      };
    case 'glucose': {
      // A meter showing HI or LO has no number: the words, and the interpretation "off scale" (v3 codes > and <).
      const offScale = f.hi === 1 ? ('>' as const) : f.lo === 1 ? ('<' as const) : undefined;
      const value = f.value === undefined
        ? { valueString: offScale === '>' ? 'HI (above the meter range)' : 'LO (below the meter range)' }
        : { valueQuantity: quantity(f.value, READING_CODES.glucose.fields.value!) };
      return {
        ...value,
        ...(offScale ? { interpretation: [{ coding: [{ system: INTERPRETATION, code: offScale, display: offScale === '>' ? 'Off scale high' : 'Off scale low' }] }] } : {}),
        ...components(r.type, f, ['trend_rate']),
        ...(r.tags.meal ? { note: [{ text: `Meal context: ${r.tags.meal}` }] } : {}),
      };
    }
    case 'spo2':
      return { valueQuantity: quantity(f.value!, READING_CODES.spo2.fields.value!), ...components(r.type, f, ['pulse']) };
    case 'weight':
    case 'heart_rate':
    case 'temperature':
      return { valueQuantity: quantity(f.value!, READING_CODES[r.type].fields.value!) };
    case 'steps':
      return { valueQuantity: quantity(f.count!, READING_CODES.steps.fields.count!), ...components(r.type, f, ['period_s']) };
    case 'fall':
      return { valueBoolean: true, ...components(r.type, f, ['confidence']) };
    default: {
      const never: never = r.type;
      throw new Error(`no Observation mapping for ${String(never)}`);
    }
  }
}

/**
 * A stored reading as a FHIR R4 Observation: LOINC code, UCUM units, category, the vital signs profile where one
 * applies, the time of measurement, the patient and the device that measured it. Status is `final`: a reading
 * is stored once validated, and never amended.
 */
export function toObservation(r: ObservedReading): Resource {
  const kind = OBSERVATION_KINDS[r.type];
  return {
    resourceType: 'Observation',
    id: observationId(r.patientId, r.deviceId, r.type, r.time, r.fields),
    ...(kind.profile ? { meta: { profile: [kind.profile] } } : {}),
    status: 'final',
    ...(kind.category ? { category: [categoryOf(kind.category)] } : {}),
    code: codeOf(r.type, r.tags),
    subject: { reference: `Patient/${toFhirId(r.patientId)}` },
    effectiveDateTime: new Date(r.time).toISOString(),
    device: { reference: `Device/${toFhirId(r.deviceId)}` },
    ...valueOf(r),
  };
}
