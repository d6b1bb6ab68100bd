import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { apiErrorSchema, entityIdSchema } from '../../domain/index.js';
import { fhirPatientExport } from '../export/patient-bundle.js';
import { alertsCsv, readingsCsv } from '../export/patient-csv.js';
import { patientPeriod } from '../export/patient-period.js';
import { FHIR_JSON } from '../fhir/types.js';
import type { InteropSources, RequestAccess } from '../ports.js';
import { baseUrl } from './fhir-plugin.js';
import { visiblePatient } from './patient-scope.js';

const failures = Object.fromEntries([400, 401, 403, 404, 500].map((s) => [s, apiErrorSchema]));

const period = {
  from: z.iso.datetime({ offset: true }).optional().describe('start of the period (inclusive); absent: from the first reading'),
  to: z.iso.datetime({ offset: true }).optional().describe('end of the period (exclusive); absent: up to now'),
};
const epoch = (iso: string | undefined) => (iso === undefined ? undefined : Date.parse(iso));

/**
 * `GET /api/patients/{id}/export/fhir`: the patient's readings and alerts for a period as a FHIR collection Bundle,
 * a download; `GET /api/patients/{id}/export/csv`: the same period as CSV tables (readings, or alerts). The
 * patient's care team and administrators, like the reports; part of the JSON API (its errors are the API's error
 * body), audited as `patient.export` every time. Bearer requests count against the integrations' rate limit
 * (`ratePerMinute` per address), as on the rest of the JSON API; the page's session requests do not.
 */
export async function registerFhirExportRoute(app: FastifyInstance, sources: InteropSources, access: RequestAccess, ratePerMinute: number): Promise<void> {
  await app.register(async (scope) => {
    scope.addHook('onRequest', scope.rateLimit({ max: ratePerMinute, timeWindow: '1 minute', allowList: (request) => request.headers.authorization === undefined }));
    scope.addHook('onRequest', async (request) => void (await access.identify(request)));
    const api = scope.withTypeProvider<ZodTypeProvider>();
    api.get(
      '/api/patients/:patientId/export/fhir',
      {
        schema: {
          tags: ['patients'],
          summary: "A patient's readings (Observations), devices and alerts (Flags) for a period, as a FHIR R4 collection Bundle (a download)",
          params: z.object({ patientId: entityIdSchema }),
          querystring: z.object(period),
          response: {
            200: { description: 'a FHIR R4 Bundle of type collection', content: { 'application/fhir+json': { schema: z.looseObject({ resourceType: z.literal('Bundle') }) } } },
            ...failures,
          },
        },
      },
      async (request, reply) => {
        const patient = visiblePatient(sources, access, request, request.params.patientId, request.params.patientId);
        const now = Date.now();
        const { from, to } = request.query;
        const bundle = await fhirPatientExport({
          sources: await withExportReadings(sources, patient.id),
          patientId: patient.id,
          from: epoch(from),
          to: epoch(to),
          base: baseUrl(request),
          audit: (details) => access.record(request, 'patient.export', patient.id, 'fhir', details),
        });
        reply.header('content-type', FHIR_JSON);
        reply.header('cache-control', 'no-store');
        reply.header('content-disposition', `attachment; filename="patient-${patient.id}-fhir-${new Date(now).toISOString().slice(0, 10)}.json"`);
        return bundle;
      },
    );
    api.get(
      '/api/patients/:patientId/export/csv',
      {
        schema: {
          tags: ['patients'],
          summary: "A patient's readings (one line per measured value, with UCUM units and LOINC codes) or alerts for a period, as CSV (a download)",
          params: z.object({ patientId: entityIdSchema }),
          querystring: z.object({ ...period, table: z.enum(['readings', 'alerts']).default('readings').describe('which table') }),
          response: {
            200: { description: 'RFC 4180 CSV with a header line', content: { 'text/csv': { schema: z.string() } } },
            ...failures,
          },
        },
      },
      async (request, reply) => {
        const patient = visiblePatient(sources, access, request, request.params.patientId, request.params.patientId);
        const { from, to, table } = request.query;
        const now = Date.now();
        const found = await patientPeriod(await withExportReadings(sources, patient.id), patient.id, { from: epoch(from), to: epoch(to) }, now);
        const csv = table === 'alerts' ? alertsCsv(found) : readingsCsv(found);
        access.record(request, 'patient.export', patient.id, `csv:${table}`, {
          format: 'csv',
          table,
          from: new Date(found.from).toISOString(),
          to: new Date(found.to).toISOString(),
          rows: table === 'alerts' ? found.alerts.length : found.readings.length,
        });
        reply.header('content-type', 'text/csv; charset=utf-8');
        reply.header('cache-control', 'no-store');
        reply.header('content-disposition', `attachment; filename="patient-${patient.id}-${table}-${new Date(now).toISOString().slice(0, 10)}.csv"`);
        return csv;
      },
    );
  });
}

/** The sources with the patient's readings as an export reads them (InteropSources.exportReadings). */
async function withExportReadings(sources: InteropSources, patientId: string): Promise<InteropSources> {
  return sources.exportReadings ? { ...sources, readings: await sources.exportReadings(patientId) } : sources;
}
