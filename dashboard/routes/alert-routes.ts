import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS, RULE_PRESETS, SAFETY_FLOORS, SEVERITIES } from '../../alerts/index.js';
import {
  alertEventSchema,
  alertSchema,
  apiRuleSchema,
  entityIdSchema,
  parkedDeliverySchema,
  patientRulesSchema,
  patientSchema,
  rulePresetSchema,
  safetyFloorSchema,
  snoozeSchema,
  VigilError,
} from '../../domain/index.js';
import { canSeeTeam, type Principal } from '../auth/principal.js';
import { actor, auditView, visiblePatient, visiblePatients, type DashboardContext } from '../context.js';
import { deniedUnless } from './admin-only.js';
import { noContent, responses } from './responses.js';

const alertQuery = z.object({
  status: z.enum(['open', 'acknowledged', 'resolved', 'live']).optional(),
  severity: z.enum(SEVERITIES).optional(),
  patient: entityIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const idParams = z.object({ id: z.coerce.number().int().positive() });
const noteBody = z.object({ note: z.string().max(2000).optional() }).default({});
const patientParams = z.object({ patientId: entityIdSchema });
const patientRule = z.object({ patientId: entityIdSchema, ruleId: z.string().regex(/^[a-z0-9_.-]+$/) });
const reason = z.string().trim().min(1, 'a reason is required (shown on the patient page and kept in the audit log)').max(2000);
const snoozeBody = z.object({ until: z.iso.datetime({ offset: true }), note: reason });
const overrideBody = z.object({
  override: z.record(z.string(), z.unknown()),
  reason,
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
const replayBody = z.object({ seq: z.number().int().positive().optional() }).default({});
const presetParams = z.object({ patientId: entityIdSchema, presetId: z.string().regex(/^[a-z0-9_.-]+$/) });
const presetBody = z.object({ reason: reason.optional(), expiresAt: z.iso.datetime({ offset: true }).optional() }).default({});
const alertWithEvents = z.object({ alert: alertSchema, events: z.array(alertEventSchema) });
const oneRule = z.object({ rule: apiRuleSchema });
const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

/**
 * Alerts: list and read, acknowledge and resolve, snooze a rule for a patient, override a rule's values or apply
 * a preset (clinicians of the patient's care team and administrators; guideline critical limits are a floor no
 * override loosens). Every action is audited with the user and their address.
 */
export async function registerAlertRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { queries, actions: act, feed } = ctx.alerts;
  const canSee = (patientId: string, request: { principal?: Principal | undefined }) =>
    canSeeTeam(request.principal!, ctx.directory.patient(patientId)?.careTeam ?? null);
  // Another team's alert is answered as one that does not exist (404, the same body), so that alert ids cannot be
  // probed for which exist; the refusal is audited as `access.denied` with the alert's patient.
  const alertOf = (request: Parameters<typeof actor>[0], id: number) => {
    const found = queries.get(id);
    if (found && canSee(found.alert.patientId, request)) return found;
    if (found) ctx.audit.record(actor(request), 'access.denied', found.alert.patientId, request.url.split('?')[0] ?? null);
    throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${id} does not exist`);
  };

  const alertList = {
    tags: ['alerts'],
    summary: 'Alerts, most severe and most recent first',
    querystring: alertQuery,
    response: responses({ 200: z.object({ alerts: z.array(alertSchema) }) }, 400, 401, 403, 404),
  };
  api.get('/api/alerts', { schema: alertList }, async (request) => {
    const q = request.query;
    if (q.patient) visiblePatient(ctx, request, q.patient);
    const principal = request.principal!;
    // A clinician's care teams filter in SQL: never load every alert to throw most of them away.
    const patientIds = principal.role === 'admin' || q.patient ? undefined : visiblePatients(ctx, principal).map((p) => p.id);
    const visible = queries.list({ status: q.status, severity: q.severity, patientId: q.patient, patientIds, limit: q.limit });
    if (visible.length > 0) ctx.audit.record(actor(request), 'alerts.view', q.patient ?? null, null, { count: visible.length, status: q.status });
    return { alerts: visible };
  });

  api.get(
    '/api/alerts/events',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Alert transitions after a sequence number (the live channel replays from these)',
        querystring: eventsQuery,
        response: responses({ 200: z.object({ events: z.array(alertEventSchema), lastSeq: z.number().int() }) }, 400, 401),
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const events = feed.eventsAfter(after, limit);
      const visible = request.principal!.role === 'admin' ? events : events.filter((e) => canSee(e.alert.patientId, request));
      const lastSeq = events.at(-1)?.seq ?? after;
      // Alert history is patient data (values, patients, notes): audited like the alert list, an empty answer
      // aside. The same stretch of the feed (after, lastSeq) read again by the same session within the repeat
      // window is one entry; a read that reaches newer events, or a consumer moving on through the feed, is new.
      if (visible.length > 0) auditView(ctx, request, 'alerts.events.view', null, null, `events|${after}|${lastSeq}`, { count: visible.length, after, lastSeq });
      return { events: visible, lastSeq };
    },
  );

  const oneAlert = { tags: ['alerts'], summary: 'One alert with its history of transitions', params: idParams, response: responses({ 200: alertWithEvents }, 400, 401, 403, 404) };
  api.get('/api/alerts/:id', { schema: oneAlert }, async (request) => {
    const found = alertOf(request, request.params.id);
    ctx.audit.record(actor(request), 'alert.view', found.alert.patientId, `alert:${found.alert.id}`);
    return found;
  });

  const actions = {
    acknowledge: 'Acknowledge an open alert, with an optional note',
    resolve: 'Resolve an alert, with an optional note',
  } as const;
  for (const [verb, summary] of Object.entries(actions) as [keyof typeof actions, string][]) {
    const schema = { tags: ['alerts'], summary, params: idParams, body: noteBody, response: responses({ 200: z.object({ alert: alertSchema }) }, 400, 401, 403, 404, 409) };
    api.post(`/api/alerts/:id/${verb}`, { schema }, async (request) => {
      alertOf(request, request.params.id);
      return { alert: await act[verb](request.params.id, actor(request), request.body.note) };
    });
  }

  const parkedList = {
    tags: ['alerts'],
    summary: 'Webhook deliveries the receiver refused (4xx) after every retry, parked (administrators)',
    response: responses({ 200: z.object({ parked: z.array(parkedDeliverySchema) }) }, 401, 403),
  };
  api.get('/api/alerts/webhook/parked', { schema: parkedList }, async (request) => {
    deniedUnless(ctx, request);
    return { parked: ctx.alerts.parked.list() };
  });

  api.post(
    '/api/alerts/webhook/parked/replay',
    {
      schema: {
        tags: ['alerts'],
        summary: 'Send parked webhook deliveries again: one (seq) or all (administrators)',
        body: replayBody,
        response: responses({ 200: z.object({ requested: z.number().int() }) }, 400, 401, 403),
      },
    },
    async (request) => {
      deniedUnless(ctx, request);
      const requested = ctx.alerts.parked.replay(request.body.seq);
      ctx.audit.record(actor(request), 'webhook.replay', null, request.body.seq === undefined ? 'all' : `seq:${request.body.seq}`, { requested });
      return { requested };
    },
  );

  api.get(
    '/api/rules',
    {
      schema: {
        tags: ['rules'],
        summary: 'The rule catalogue: defaults, programme sets, safety floors and presets, with their sources',
        response: responses(
          {
            200: z.object({
              defaults: z.array(apiRuleSchema).readonly(),
              programmes: z.record(z.string(), z.object({ rules: z.array(apiRuleSchema).readonly() })),
              floors: z.array(safetyFloorSchema).readonly(),
              presets: z.array(rulePresetSchema).readonly(),
            }),
          },
          401,
        ),
      },
    },
    async () => ({
      defaults: DEFAULT_RULE_SET,
      programmes: Object.fromEntries(Object.entries(PROGRAMME_RULE_SETS).map(([p, rules]) => [p, { rules }])),
      floors: SAFETY_FLOORS,
      presets: RULE_PRESETS,
    }),
  );

  api.get(
    '/api/patients/:patientId/rules',
    {
      schema: {
        tags: ['rules'],
        summary: "The rules as they apply to a patient, the patient's overrides and snoozes",
        params: patientParams,
        response: responses({ 200: patientRulesSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const { patientId } = request.params;
      visiblePatient(ctx, request, patientId);
      // The patient's overrides and snoozes, with who set them and why: part of the record, audited as its view is.
      auditView(ctx, request, 'patient.rules.view', patientId, null, 'rules');
      return { rules: queries.rulesFor(patientId), overrides: queries.overridesOf(patientId), snoozes: queries.snoozesOf(patientId), presets: queries.presets() };
    },
  );

  api.put(
    '/api/patients/:patientId/rules/:ruleId',
    {
      schema: {
        tags: ['rules'],
        summary: "Override a rule's values for one patient, with a reason and an optional expiry (refused with VIGIL_ERR_SAFETY_FLOOR if it would loosen a guideline critical limit)",
        params: patientRule,
        body: overrideBody,
        response: responses({ 200: oneRule }, 400, 401, 403, 404, 422),
      },
    },
    async (request) => {
      const { patientId, ruleId } = request.params;
      visiblePatient(ctx, request, patientId);
      const { override, reason: why, expiresAt } = request.body;
      return { rule: await act.setOverride(patientId, ruleId, override, actor(request), { reason: why, expiresAt: expiresAt === undefined ? undefined : Date.parse(expiresAt) }) };
    },
  );

  api.put(
    '/api/patients/:patientId/presets/:presetId',
    {
      schema: {
        tags: ['rules'],
        summary: "Apply a named, sourced preset (e.g. spo2.copd_target) as the patient's override of its rule",
        params: presetParams,
        body: presetBody,
        response: responses({ 200: oneRule }, 400, 401, 403, 404, 422),
      },
    },
    async (request) => {
      const { patientId, presetId } = request.params;
      visiblePatient(ctx, request, patientId);
      const { reason: why, expiresAt } = request.body;
      return { rule: await act.applyPreset(patientId, presetId, actor(request), { reason: why, expiresAt: expiresAt === undefined ? undefined : Date.parse(expiresAt) }) };
    },
  );

  api.delete(
    '/api/patients/:patientId/rules/:ruleId',
    { schema: { tags: ['rules'], summary: "Remove a patient's override of a rule", params: patientRule, response: responses({ 204: noContent }, 400, 401, 403, 404) } },
    async (request, reply) => {
      const { patientId, ruleId } = request.params;
      visiblePatient(ctx, request, patientId);
      await act.clearOverride(patientId, ruleId, actor(request));
      return reply.code(204).send();
    },
  );

  api.put(
    '/api/patients/:patientId/snoozes/:ruleId',
    {
      schema: {
        tags: ['rules'],
        summary: 'Snooze a rule for a patient until a time (bounded by VIGIL_ALERT_SNOOZE_MAX_HOURS), with a reason; a worse tier and any critical finding break through',
        params: patientRule,
        body: snoozeBody,
        response: responses({ 200: z.object({ snoozes: z.array(snoozeSchema).readonly() }) }, 400, 401, 403, 404, 422),
      },
    },
    async (request) => {
      const { patientId, ruleId } = request.params;
      visiblePatient(ctx, request, patientId);
      await act.snooze(patientId, ruleId, Date.parse(request.body.until), actor(request), request.body.note);
      return { snoozes: queries.snoozesOf(patientId) };
    },
  );

  api.delete(
    '/api/patients/:patientId/snoozes/:ruleId',
    { schema: { tags: ['rules'], summary: 'End a snooze', params: patientRule, response: responses({ 204: noContent }, 400, 401, 403, 404) } },
    async (request, reply) => {
      const { patientId, ruleId } = request.params;
      visiblePatient(ctx, request, patientId);
      await act.unsnooze(patientId, ruleId, actor(request));
      return reply.code(204).send();
    },
  );

  const patientList = { tags: ['patients'], summary: 'The patients this user may see', response: responses({ 200: z.object({ patients: z.array(patientSchema) }) }, 401) };
  api.get('/api/patients', { schema: patientList }, async (request) => {
    const patients = visiblePatients(ctx, request.principal!);
    // Names, programmes and care teams of every patient the caller may see: a read of patient data like the worklist.
    auditView(ctx, request, 'patients.view', null, null, 'list', { patients: patients.length });
    return { patients };
  });
}
