/**
 * Interoperability: Vigil's data as FHIR R4 (docs/interop.md). Read and search at /fhir, and a patient's readings
 * and alerts for a period as one collection Bundle (the export).
 */
export { registerFhirRoutes, type FhirRoutesOptions } from './routes/fhir-routes.js';
export { fhirPatientExport, type FhirExportSource } from './export/patient-bundle.js';
export type { InteropSources, InteropPatient, InteropDevice, RequestAccess } from './ports.js';
export type { Bundle, Resource } from './fhir/types.js';
export { registerFhirExportRoute } from './routes/export-route.js';
export { fhirFrameworkError } from './routes/fhir-plugin.js';
export { answerSystem, toSurveyObservation, type ReportedSymptom } from './fhir/survey-observation.js';
