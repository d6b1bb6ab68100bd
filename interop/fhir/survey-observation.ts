import { createHash } from 'node:crypto';
import { toFhirId } from './ids.js';
import type { Coding, Resource } from './types.js';

const CATEGORY_SYSTEM = 'http://terminology.hl7.org/CodeSystem/observation-category';

/** One answer to a symptom check-in as the interop side needs it (the care loop fills it; docs/checkins.md). */
export interface ReportedSymptom {
  readonly patientId: string;
  /** The check-in answered (the inbox message id). */
  readonly checkinId: string;
  readonly question: string;
  /** The concept observed: LOINC or SNOMED CT where one fits, else urn:vigil:checkin-item. */
  readonly code: Coding & { readonly display: string };
  /** The answer, coded in the question's own answer list. */
  readonly answer: Coding & { readonly display: string };
  readonly at: number;
}

/** Answer codes are the question's own list: one code system per questionnaire and question. */
export const answerSystem = (questionnaire: string, question: string) => `urn:vigil:checkin-answer:${questionnaire}:${question}`;

/**
 * A check-in answer as a FHIR R4 Observation of category `survey` (the observation-category code for assessment
 * tool and survey instrument results), reported by the patient (`performer` is the Patient), with the answer as
 * a coded value. Its id is a digest of the check-in and question: the same answer has the same id in every export.
 */
export function toSurveyObservation(s: ReportedSymptom): Resource {
  const patient = { reference: `Patient/${toFhirId(s.patientId)}` };
  return {
    resourceType: 'Observation',
    id: createHash('sha256').update(`checkin|${s.patientId}|${s.checkinId}|${s.question}`).digest('hex').slice(0, 40),
    status: 'final',
    category: [{ coding: [{ system: CATEGORY_SYSTEM, code: 'survey', display: 'Survey' }], text: 'Survey' }],
    code: { coding: [s.code], text: s.code.display },
    subject: patient,
    effectiveDateTime: new Date(s.at).toISOString(),
    performer: [patient],
    valueCodeableConcept: { coding: [s.answer], text: s.answer.display },
  };
}
