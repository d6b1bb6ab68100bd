import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { isTrendRule } from '../../alerts/index.js';
import { entityIdSchema, glucoseReportSchema, homeBpReportSchema, riskScoreSchema, weightReportSchema } from '../../domain/index.js';
import { SCALE_2_PRESET, glucoseReport, glucoseReportCsv, homeBpReport, homeBpReportCsv, homeBpRuleFor, MAX_REPORT_DAYS, renderPdf, riskPdf, riskScore, weightPdf, weightReport, weightReportCsv, weightRuleFor, glucosePdf, homeBpPdf } from '../../reports/index.js';
import { auditView, visiblePatient, type DashboardContext } from '../context.js';
import { responses } from './responses.js';

const patientParams = z.object({ patientId: entityIdSchema });
const reportQuery = (defaultDays: number) =>
  z.object({
    days: z.coerce.number().int().min(1).max(MAX_REPORT_DAYS).default(defaultDays).describe(`local days before now (1-${MAX_REPORT_DAYS})`),
    format: z.enum(['json', 'csv', 'pdf']).default('json').describe('csv, pdf: a download (pdf: one A4 page to file)'),
  });
const csvFile = z.string().describe('the report as CSV (section, figure, value, ...)');
const pdfFile = z.string().describe('the report as a one-page PDF');
const jsonOrCsv = (schema: z.ZodType, description: string) => ({
  200: { description, content: { 'application/json': { schema }, 'text/csv': { schema: csvFile }, 'application/pdf': { schema: pdfFile } } },
});

/** A CSV answer the browser saves as a file named after the report, the patient and the day. */
function download(reply: FastifyReply, name: string, patientId: string, csv: string): string {
  reply.header('content-type', 'text/csv; charset=utf-8');
  reply.header('content-disposition', `attachment; filename="vigil-${name}-${patientId}-${new Date().toISOString().slice(0, 10)}.csv"`);
  return csv;
}

/** A PDF answer the browser saves as a file named after the report, the patient and the day. */
export function pdfDownload(reply: FastifyReply, name: string, patientId: string, pdf: Buffer): FastifyReply {
  reply.header('content-type', 'application/pdf');
  reply.header('content-disposition', `attachment; filename="vigil-${name}-${patientId}-${new Date().toISOString().slice(0, 10)}.pdf"`);
  // A Buffer is sent as it is: no serializer, no schema (the route declares application/pdf).
  return reply.send(pdf);
}

/**
 * Reports on a patient (docs/reports.md): the same care-team scoping and audit as the patient routes, and, as
 * every /api answer, `Cache-Control: no-store` (dashboard.ts).
 */
export async function registerReportRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/patients/:patientId/reports/glucose',
    {
      schema: {
        tags: ['reports'],
        summary: 'Glucose report: time in ranges, mean, GMI, CV, CGM wear and the ambulatory glucose profile (default 14 days)',
        params: patientParams,
        querystring: reportQuery(14),
        response: responses(jsonOrCsv(glucoseReportSchema, 'the glucose report'), 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { days, format } = request.query;
      auditView(ctx, request, 'patient.report.view', patient.id, 'glucose', `glucose|${days}|${format}`, { days, format });
      const report = await glucoseReport(ctx.readings, patient, days, Date.now());
      if (format === 'pdf') return pdfDownload(reply, 'glucose', patient.id, await renderPdf(glucosePdf(report, patient, Date.now())));
      return format === 'csv' ? download(reply, 'glucose', patient.id, glucoseReportCsv(report)) : report;
    },
  );

  api.get(
    '/api/patients/:patientId/reports/home-bp',
    {
      schema: {
        tags: ['reports'],
        summary: 'Home blood pressure report: the 7-day morning/evening protocol average (day 1 discarded), its category, readings above the line, weekly means',
        params: patientParams,
        querystring: reportQuery(7),
        response: responses(jsonOrCsv(homeBpReportSchema, 'the home BP report'), 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { days, format } = request.query;
      auditView(ctx, request, 'patient.report.view', patient.id, 'home_bp', `home_bp|${days}|${format}`, { days, format });
      // The patient's own line (their override in force), as the bp.home_average alert judges them.
      const rule = homeBpRuleFor(ctx.alerts.queries.overridesOf(patient.id));
      const report = await homeBpReport(ctx.readings, patient, days, Date.now(), rule);
      if (format === 'pdf') return pdfDownload(reply, 'home-bp', patient.id, await renderPdf(homeBpPdf(report, patient, Date.now())));
      return format === 'csv' ? download(reply, 'home-bp', patient.id, homeBpReportCsv(report)) : report;
    },
  );

  api.get(
    '/api/patients/:patientId/reports/weight',
    {
      schema: {
        tags: ['reports'],
        summary: "Heart-failure weight report: each local day's morning weight against the baseline or dry weight, with the weight-gain alert windows marked (default 30 days)",
        params: patientParams,
        querystring: reportQuery(30),
        response: responses(jsonOrCsv(weightReportSchema, 'the weight report'), 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { days, format } = request.query;
      auditView(ctx, request, 'patient.report.view', patient.id, 'weight', `weight|${days}|${format}`, { days, format });
      // The patient's own windows and dry weight (their weight.gain override in force).
      const rule = weightRuleFor(ctx.alerts.queries.overridesOf(patient.id));
      const report = await weightReport(ctx.readings, patient, days, Date.now(), rule);
      if (format === 'pdf') return pdfDownload(reply, 'weight', patient.id, await renderPdf(weightPdf(report, patient, Date.now())));
      return format === 'csv' ? download(reply, 'weight', patient.id, weightReportCsv(report)) : report;
    },
  );

  api.get(
    '/api/patients/:patientId/reports/risk',
    {
      schema: {
        tags: ['reports'],
        summary: 'Risk score: the latest home vitals (last 24 h) on the NEWS2 chart, plus live trend alerts, part by part; it ranks, it raises nothing',
        params: patientParams,
        querystring: z.object({ format: z.enum(['json', 'pdf']).default('json').describe('pdf: a one-page download') }),
        response: responses({ 200: { description: 'the risk score', content: { 'application/json': { schema: riskScoreSchema }, 'application/pdf': { schema: pdfFile } } } }, 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { format } = request.query;
      auditView(ctx, request, 'patient.report.view', patient.id, 'risk', `risk|${format}`, { format });
      const trends = ctx.alerts.queries.list({ patientId: patient.id, status: 'live' }).filter((a) => isTrendRule(a.ruleId));
      const risk = riskScore(ctx.latest.of(patient.id), trends, Date.now(), ctx.alerts.queries.patientsWithPreset(SCALE_2_PRESET).has(patient.id) ? 2 : 1);
      return format === 'pdf' ? pdfDownload(reply, 'risk', patient.id, await renderPdf(riskPdf(risk, patient, Date.now(), patient.timeZone))) : risk;
    },
  );
}
