/**
 * The API's wire shapes, as zod schemas: the dashboard's routes declare them as response schemas (so the OpenAPI
 * document describes every answer, and the serializer sends exactly these fields), and the web client derives
 * its types from them with type-only imports.
 */
export * from './error-body.js';
export * from './severity.js';
export * from './patient.js';
export * from './device.js';
export * from './reading.js';
export * from './alert.js';
export * from './rule.js';
export * from './patient-record.js';
export * from './worklist.js';
export * from './user.js';
export * from './audit.js';
export * from './live.js';
export * from './webhook.js';
export * from './patient-data.js';
export * from './report.js';
export * from './weight-report.js';
export * from './programme-report.js';
export * from './risk.js';
export * from './api-token.js';
export * from './care.js';
export * from './checkins.js';
