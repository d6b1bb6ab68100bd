import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { entityIdSchema, programmeReportSchema, programmeRowSchema } from '../../domain/index.js';
import { programmePdf, programmeReport, programmeTablePdf, programmeReportCsv, programmeRow, PROGRAMME_SORTS, renderPdf } from '../../reports/index.js';
import { auditView, visiblePatient, visiblePatients, type DashboardContext } from '../context.js';
import { pdfDownload } from './report-routes.js';
import { responses } from './responses.js';

/** A patient's alerts the programme report reads: a period's worth (the alert list is newest-updated first). */
const ALERTS_PER_PATIENT = 1000;

const csvFile = z.string().describe('the table as CSV, one row per patient');

/**
 * The programme report (docs/reports.md): per patient, the days of data in the current 30-day period and the
 * CMS code they reach, and the alert work people documented; for one patient and as the care team's table of
 * every patient the user may see (administrators: all), sortable and as a CSV download. Audited as views.
 */
export async function registerProgrammeRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const alertsOf = (patientId: string) => ctx.alerts.queries.list({ patientId, limit: ALERTS_PER_PATIENT });

  api.get(
    '/api/patients/:patientId/reports/programme',
    {
      schema: {
        tags: ['reports'],
        summary: 'Programme report of one patient: days with readings in the current 30-day period (CMS 99454 / 99445) and alert work',
        params: z.object({ patientId: entityIdSchema }),
        querystring: z.object({ format: z.enum(['json', 'pdf']).default('json').describe('pdf: a one-page download') }),
        response: responses(
          { 200: { description: "the patient's programme row", content: { 'application/json': { schema: programmeRowSchema }, 'application/pdf': { schema: z.string().describe('a one-page PDF') } } } },
          400,
          401,
          403,
          404,
        ),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { format } = request.query;
      auditView(ctx, request, 'patient.report.view', patient.id, 'programme', `programme|${format}`, { format });
      const row = await programmeRow(ctx.readings, patient, alertsOf(patient.id), Date.now());
      return format === 'pdf' ? pdfDownload(reply, 'programme', patient.id, await renderPdf(programmePdf(row, Date.now()))) : row;
    },
  );

  api.get(
    '/api/reports/programme',
    {
      schema: {
        tags: ['reports'],
        summary: "Programme report of the user's care teams: one row per patient, sortable, as JSON or a CSV download",
        querystring: z.object({
          sort: z.enum(PROGRAMME_SORTS).default('days').describe('days (default: fewest first), name, patient, code, acknowledged, minutes'),
          order: z.enum(['asc', 'desc']).default('asc'),
          format: z.enum(['json', 'csv', 'pdf']).default('json').describe('csv: a download; pdf: the first page of patients, the rest counted'),
        }),
        response: responses(
          {
            200: {
              description: 'the care-team table',
              content: { 'application/json': { schema: programmeReportSchema }, 'text/csv': { schema: csvFile }, 'application/pdf': { schema: z.string().describe('a one-page PDF') } },
            },
          },
          400,
          401,
        ),
      },
    },
    async (request, reply) => {
      const { sort, order, format } = request.query;
      const patients = visiblePatients(ctx, request.principal!);
      auditView(ctx, request, 'report.programme.view', null, null, `programme|${format}`, { patients: patients.length, format });
      const report = await programmeReport(ctx.readings, patients, alertsOf, Date.now(), sort, order === 'desc');
      if (format === 'json') return report;
      if (format === 'pdf') {
        const scope = request.principal!.role === 'admin' ? 'All patients' : `Care teams: ${request.principal!.careTeams.join(', ') || 'none'}`;
        return pdfDownload(reply, 'programme', 'team', await renderPdf(programmeTablePdf(report, scope)));
      }
      reply.header('content-type', 'text/csv; charset=utf-8');
      reply.header('content-disposition', `attachment; filename="vigil-programme-${new Date().toISOString().slice(0, 10)}.csv"`);
      return programmeReportCsv(report);
    },
  );
}
