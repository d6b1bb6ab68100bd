/**
 * The few FHIR R4 shapes Vigil produces (http://hl7.org/fhir/R4), written out here rather than taken from a
 * library: the server needs a dozen fields, and the tests validate every resource against HL7's own
 * StructureDefinitions, which is what keeps these honest.
 */
export interface Coding {
  readonly system?: string;
  readonly code?: string;
  readonly display?: string;
}

export interface CodeableConcept {
  readonly coding?: readonly Coding[];
  readonly text?: string;
}

export interface Quantity {
  readonly value: number;
  readonly unit: string;
  readonly system: 'http://unitsofmeasure.org';
  readonly code: string;
}

export interface Reference {
  readonly reference: string;
  readonly display?: string;
}

export interface Identifier {
  readonly system: string;
  readonly value: string;
}

export interface Period {
  readonly start?: string;
  readonly end?: string;
}

export interface Extension {
  readonly url: string;
  readonly valueCodeableConcept?: CodeableConcept;
}

export interface Meta {
  readonly profile?: readonly string[];
  readonly lastUpdated?: string;
}

export interface Resource {
  readonly resourceType: string;
  readonly id?: string;
  readonly meta?: Meta;
  readonly [field: string]: unknown;
}

export interface BundleLink {
  readonly relation: 'self' | 'next' | 'previous' | 'first';
  readonly url: string;
}

export interface BundleEntry {
  readonly fullUrl: string;
  readonly resource: Resource;
  readonly search?: { readonly mode: 'match' | 'include' };
}

export interface Bundle extends Resource {
  readonly resourceType: 'Bundle';
  readonly type: 'searchset' | 'collection';
  readonly timestamp: string;
  readonly total?: number;
  readonly link?: readonly BundleLink[];
  readonly entry: readonly BundleEntry[];
}

export const UCUM = 'http://unitsofmeasure.org';
export const LOINC = 'http://loinc.org';
/** Vigil's own identifiers for patients and devices, as identifier systems (stable, not resolvable URLs). */
export const VIGIL_PATIENT_ID = 'urn:vigil:patient-id';
export const VIGIL_DEVICE_ID = 'urn:vigil:device-id';
export const FHIR_JSON = 'application/fhir+json; fhirVersion=4.0; charset=utf-8';
