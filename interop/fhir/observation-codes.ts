import { glucoseLoinc, READING_CODES, type ReadingType } from '../../domain/index.js';
import { LOINC, type CodeableConcept, type Coding } from './types.js';

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';
const PROFILE = 'http://hl7.org/fhir/StructureDefinition/';

export type ObservationCategory = 'vital-signs' | 'laboratory' | 'activity';

/** How one Vigil reading type appears as an Observation: its category, the R4 profile it meets, its codes. */
export interface ObservationKind {
  /** Absent for a fall: an event a detector reported, not a measurement any category of R4 describes. */
  readonly category: ObservationCategory | undefined;
  /** The R4 vital signs profile (hl7.org/fhir/R4/observation-vitalsigns.html) the Observation conforms to. */
  readonly profile: string | undefined;
  /** The LOINC codes a `code=` search matches (all codings of the Observation's code). */
  readonly loinc: readonly string[];
}

/**
 * Reading type -> category, profile and LOINC codes (docs/interop.md has the table). The vital signs are the five
 * the R4 vital signs profiles cover; glucose is a laboratory analyte (as US Core files it) whether a meter or a CGM
 * measured it; steps are `activity` (the category's own definition: bodily activity for fitness).
 */
export const OBSERVATION_KINDS: Readonly<Record<ReadingType, ObservationKind>> = {
  blood_pressure: { category: 'vital-signs', profile: `${PROFILE}bp`, loinc: [READING_CODES.blood_pressure.loinc] },
  heart_rate: { category: 'vital-signs', profile: `${PROFILE}heartrate`, loinc: [READING_CODES.heart_rate.loinc] },
  // The R4 oxygensat profile fixes 2708-6 (arterial SpO2); 59408-5 says it was measured by pulse oximetry.
  spo2: { category: 'vital-signs', profile: `${PROFILE}oxygensat`, loinc: ['2708-6', READING_CODES.spo2.loinc] },
  weight: { category: 'vital-signs', profile: `${PROFILE}bodyweight`, loinc: [READING_CODES.weight.loinc] },
  temperature: { category: 'vital-signs', profile: `${PROFILE}bodytemp`, loinc: [READING_CODES.temperature.loinc] },
  glucose: { category: 'laboratory', profile: undefined, loinc: [glucoseLoinc('meter'), glucoseLoinc('cgm')] },
  steps: { category: 'activity', profile: undefined, loinc: [READING_CODES.steps.loinc] },
  fall: { category: undefined, profile: undefined, loinc: [] },
};

const CATEGORY_DISPLAY: Record<ObservationCategory, string> = { 'vital-signs': 'Vital Signs', laboratory: 'Laboratory', activity: 'Activity' };

export function categoryOf(category: ObservationCategory): CodeableConcept {
  return { coding: [{ system: CATEGORY_SYSTEM, code: category, display: CATEGORY_DISPLAY[category] }], text: CATEGORY_DISPLAY[category] };
}

const DISPLAY: Readonly<Record<string, string>> = {
  '2708-6': 'Oxygen saturation in Arterial blood',
  '59408-5': 'Oxygen saturation in Arterial blood by Pulse oximetry',
  '41653-7': 'Glucose [Mass/volume] in Capillary blood by Glucometer',
  '99504-3': 'Glucose [Mass/volume] in Interstitial fluid',
};

/** The Observation's code; glucose's depends on where it was measured (capillary blood or interstitial fluid). */
export function codeOf(type: ReadingType, tags: Readonly<Record<string, string>>): CodeableConcept {
  if (type === 'fall') return { text: READING_CODES.fall.display };
  const codes = type === 'glucose' ? [glucoseLoinc(tags.source === 'cgm' ? 'cgm' : 'meter')] : OBSERVATION_KINDS[type].loinc;
  const coding: Coding[] = codes.map((code) => ({ system: LOINC, code, display: DISPLAY[code] ?? READING_CODES[type].display }));
  return { coding, text: READING_CODES[type].display };
}
