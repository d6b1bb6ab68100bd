import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import {
  entityIdSchema,
  patientRecordSchema,
  patientSchema,
  PROGRAMMES,
  READING_TYPES,
  seriesSchema,
  timeZoneSchema,
  worklistSchema,
  type ThresholdLine,
} from '../../domain/index.js';
import { STORED_FIELDS } from '../../ingest/index.js';
import { canSeeTeam } from '../auth/principal.js';
import { actor, auditView, visiblePatient, type DashboardContext } from '../context.js';
import { answerEncoding, encodedWorklistAnswer, worklistAnswer } from '../worklist/worklist-answer.js';
import { responses, sendJson } from './responses.js';

const worklistQuery = z.object({
  programme: z.enum(PROGRAMMES).optional(),
  team: z.string().max(64).optional(),
  q: z.string().max(100).optional().describe('part of a name or id'),
});
const patientParams = z.object({ patientId: entityIdSchema });
const seriesQuery = z.object({
  type: z.enum(READING_TYPES),
  from: z.iso.datetime({ offset: true }),
  to: z.iso.datetime({ offset: true }).optional(),
});
const timeZoneBody = z.object({ timeZone: timeZoneSchema.describe("IANA time zone of the patient's home, e.g. Europe/London") });

/** Bucket widths a chart can use; the smallest one that keeps a range under about 500 points is chosen. */
const BUCKETS_MS = [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 604_800_000];
const RAW_UP_TO_MS = 2 * 86_400_000;

/** Horizontal lines for a chart: where this patient's threshold rules fire, by field. */
function thresholdLines(ctx: DashboardContext, patientId: string) {
  const lines: ThresholdLine[] = [];
  for (const rule of ctx.alerts.queries.rulesFor(patientId)) {
    if (rule.kind !== 'threshold' || !rule.enabled) continue;
    for (const tier of rule.tiers) {
      // A tier that needs several conditions at once (falling fast AND below 120) is not a line on a chart.
      if (tier.match === 'all' && tier.conditions.length > 1) continue;
      for (const c of tier.conditions) lines.push({ readingType: rule.readingType, field: c.field, op: c.op, value: c.value, severity: tier.severity, ruleId: rule.id, title: rule.title });
    }
  }
  return lines;
}

/**
 * The worklist, one patient's record, and their readings for charts. Every view is in the audit log; the page's
 * own live refreshes of what is already on screen (`X-Vigil-Background: 1`) were audited when it opened.
 */
export async function registerPatientRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/worklist',
    {
      schema: {
        tags: ['patients'],
        summary: 'Patients ranked by what needs attention, with their latest readings',
        querystring: worklistQuery,
        response: responses({ 200: worklistSchema }, 400, 401),
      },
    },
    async (request, reply) => {
      const q = request.query;
      const principal = request.principal!;
      const ranking = await ctx.worklist.current();
      const needle = q.q?.toLowerCase();
      // Whom the rows are for (an administrator sees all; others their care teams') and what they asked for.
      const key = JSON.stringify([principal.role === 'admin' ? null : [...principal.careTeams].sort(), q.programme ?? null, q.team ?? null, needle ?? null]);
      const view = ranking.view(key, ({ entry: { patient: p } }) => {
        if (!canSeeTeam(principal, p.careTeam)) return 'hidden';
        if ((q.programme && !p.programmes.includes(q.programme)) || (q.team && p.careTeam !== q.team)) return 'counted';
        if (needle && !p.name.toLowerCase().includes(needle) && !p.id.toLowerCase().includes(needle)) return 'counted';
        return 'shown';
      });
      auditView(ctx, request, 'worklist.view', null, null, `${q.programme ?? ''}|${q.team ?? ''}|${q.q ?? ''}`, { patients: view.count, programme: q.programme, team: q.team });
      // The rows were serialised once for every caller of this ranking (worklist/worklist-ranking.ts); the
      // contract test checks the answer against worklistSchema as it does every other.
      const newerReadings = ctx.worklist.isBehind(ranking, view);
      const encoding = answerEncoding(request.headers['accept-encoding']);
      if (!encoding) return sendJson(reply, worklistAnswer(ranking, view, newerReadings));
      // Compressed here, once for every caller of the ranking; the server's compression leaves an encoded answer be.
      const answer = await encodedWorklistAnswer(ranking, view, newerReadings, encoding);
      return sendJson(reply.header('content-encoding', encoding).header('vary', 'accept-encoding'), answer);
    },
  );

  api.get(
    '/api/patients/:patientId',
    {
      schema: {
        tags: ['patients'],
        summary: "A patient's record: devices, rules and thresholds, overrides, snoozes, alert history",
        params: patientParams,
        response: responses({ 200: patientRecordSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      auditView(ctx, request, 'patient.view', patient.id, null, 'record');
      return {
        patient,
        devices: ctx.directory.devices().filter((d) => d.patientId === patient.id),
        latest: [...ctx.latest.of(patient.id).values()],
        rules: ctx.alerts.queries.rulesFor(patient.id),
        thresholds: thresholdLines(ctx, patient.id),
        overrides: ctx.alerts.queries.overridesOf(patient.id),
        presets: ctx.alerts.queries.presets(),
        snoozes: ctx.alerts.queries.snoozesOf(patient.id),
        alerts: ctx.alerts.queries.list({ patientId: patient.id, limit: 200 }),
      };
    },
  );

  api.put(
    '/api/patients/:patientId/time-zone',
    {
      schema: {
        tags: ['patients'],
        summary: "Set the IANA time zone of the patient's home, where their rules' mornings and days are (the patient's care team and administrators)",
        params: patientParams,
        body: timeZoneBody,
        response: responses({ 200: z.object({ patient: patientSchema }) }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const before = visiblePatient(ctx, request, request.params.patientId);
      const patient = await ctx.directory.setTimeZone(before.id, request.body.timeZone);
      ctx.worklist.invalidate();
      ctx.audit.record(actor(request), 'patient.time_zone', patient.id, null, { from: before.timeZone, to: patient.timeZone });
      return { patient };
    },
  );

  api.get(
    '/api/patients/:patientId/readings',
    {
      schema: {
        tags: ['patients'],
        summary: 'Readings of one type over a range: raw up to two days, otherwise mean/min/max per time bucket (about 500 points at most)',
        params: patientParams,
        querystring: seriesQuery,
        response: responses({ 200: seriesSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { type } = request.query;
      const to = request.query.to ? Date.parse(request.query.to) : Date.now();
      const from = Date.parse(request.query.from);
      const span = Math.max(to - from, 1);
      // The same chart refreshed (its range sliding with the clock) is one view per hour; another range is new.
      const range = `${type}|${Math.round(span / 60_000)}|${Math.floor(from / 3_600_000)}`;
      auditView(ctx, request, 'patient.readings.view', patient.id, type, range, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
      const fields = STORED_FIELDS[type];
      if (span <= RAW_UP_TO_MS) {
        const raw = await ctx.readings.queryRaw({ patientId: patient.id, type, from, to, limit: 20_000 });
        return { type, fields, bucketMs: null, points: raw.map((p) => ({ time: p.time, mean: p.fields, min: p.fields, max: p.fields, count: 1 })) };
      }
      const bucketMs = BUCKETS_MS.find((b) => span / b <= 500) ?? BUCKETS_MS[BUCKETS_MS.length - 1]!;
      const buckets = await ctx.readings.queryAggregate({ patientId: patient.id, type, from, to, bucketMs });
      const pick = (b: (typeof buckets)[number], key: 'mean' | 'min' | 'max') => Object.fromEntries(Object.entries(b.fields).map(([f, a]) => [f, a[key]]));
      return {
        type,
        fields,
        bucketMs,
        points: buckets.map((b) => ({ time: b.time, mean: pick(b, 'mean'), min: pick(b, 'min'), max: pick(b, 'max'), count: Math.max(0, ...Object.values(b.fields).map((a) => a.count)) })),
      };
    },
  );
}
