import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_OVERRIDES, PROGRAMME_RULE_SETS, SEVERITIES } from '../../alerts/index.js';
import { entityIdSchema, VigilError } from '../../domain/index.js';
import { requireAdmin } from '../auth/authenticate.js';
import { canSeeTeam, type Principal } from '../auth/principal.js';
import { actor, visiblePatient, visiblePatients, type DashboardContext } from '../context.js';

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
const snoozeBody = z.object({ until: z.iso.datetime({ offset: true }), note: z.string().max(2000).optional() });
const overrideBody = z.record(z.string(), z.unknown());
const eventsQuery = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

/**
 * Alerts: list and read, acknowledge and resolve, snooze a rule for a patient (clinicians of the patient's care
 * team and administrators); override a rule's values for a patient (administrators). Every action is audited by
 * the engine, with the user and their address.
 */
export async function registerAlertRoutes(app: FastifyInstance, ctx: DashboardContext): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { alerts } = ctx;
  const canSee = (patientId: string, request: { principal?: Principal | undefined }) =>
    canSeeTeam(request.principal!, ctx.directory.patient(patientId)?.careTeam ?? null);
  const alertOf = (request: Parameters<typeof actor>[0], id: number) => {
    const found = alerts.get(id);
    if (!found) throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${id} does not exist`);
    visiblePatient(ctx, request, found.alert.patientId);
    return found;
  };

  api.get('/api/alerts', { schema: { tags: ['alerts'], summary: 'Alerts, most severe and most recent first', querystring: alertQuery } }, async (request) => {
    const q = request.query;
    if (q.patient) visiblePatient(ctx, request, q.patient);
    const principal = request.principal!;
    const list = alerts.list({ status: q.status, severity: q.severity, patientId: q.patient, limit: principal.role === 'admin' ? q.limit : 1_000_000 });
    const visible = principal.role === 'admin' ? list : list.filter((a) => canSee(a.patientId, request)).slice(0, q.limit);
    if (visible.length > 0) alerts.recordAudit(actor(request), 'alerts.view', q.patient ?? null, null, { count: visible.length, status: q.status });
    return { alerts: visible };
  });

  api.get(
    '/api/alerts/events',
    { schema: { tags: ['alerts'], summary: 'Alert transitions after a sequence number (the live channel replays from these)', querystring: eventsQuery } },
    async (request) => {
      const { after, limit } = request.query;
      const events = alerts.eventsAfter(after, limit);
      const visible = request.principal!.role === 'admin' ? events : events.filter((e) => canSee(e.alert.patientId, request));
      return { events: visible, lastSeq: events.at(-1)?.seq ?? after };
    },
  );

  api.get('/api/alerts/:id', { schema: { tags: ['alerts'], summary: 'One alert with its history of transitions', params: idParams } }, async (request) => {
    const found = alertOf(request, request.params.id);
    alerts.recordAudit(actor(request), 'alert.view', found.alert.patientId, `alert:${found.alert.id}`);
    return found;
  });

  const actions = {
    acknowledge: 'Acknowledge an open alert, with an optional note',
    resolve: 'Resolve an alert, with an optional note',
  } as const;
  for (const [verb, summary] of Object.entries(actions) as [keyof typeof actions, string][]) {
    api.post(`/api/alerts/:id/${verb}`, { schema: { tags: ['alerts'], summary, params: idParams, body: noteBody } }, async (request) => {
      alertOf(request, request.params.id);
      return { alert: alerts[verb](request.params.id, actor(request), request.body.note) };
    });
  }

  api.get('/api/rules', { schema: { tags: ['rules'], summary: 'The rule catalogue: defaults and programme sets, with their sources' } }, async () => ({
    defaults: DEFAULT_RULE_SET,
    programmes: Object.fromEntries(
      Object.entries(PROGRAMME_RULE_SETS).map(([p, rules]) => [p, { rules, overrides: PROGRAMME_RULE_OVERRIDES[p as keyof typeof PROGRAMME_RULE_OVERRIDES] }]),
    ),
  }));

  api.get(
    '/api/patients/:patientId/rules',
    { schema: { tags: ['rules'], summary: "The rules as they apply to a patient, the patient's overrides and snoozes", params: patientParams } },
    async (request) => {
      const { patientId } = request.params;
      visiblePatient(ctx, request, patientId);
      return { rules: alerts.rulesFor(patientId), overrides: Object.fromEntries(alerts.overridesOf(patientId)), snoozes: alerts.snoozesOf(patientId) };
    },
  );

  api.put(
    '/api/patients/:patientId/rules/:ruleId',
    { schema: { tags: ['rules'], summary: "Override a rule's values for one patient (administrators)", params: patientRule, body: overrideBody } },
    async (request) => {
      requireAdmin(request);
      const { patientId, ruleId } = request.params;
      return { rule: alerts.setOverride(patientId, ruleId, request.body, actor(request)) };
    },
  );

  api.delete(
    '/api/patients/:patientId/rules/:ruleId',
    { schema: { tags: ['rules'], summary: "Remove a patient's override of a rule (administrators)", params: patientRule } },
    async (request, reply) => {
      requireAdmin(request);
      const { patientId, ruleId } = request.params;
      alerts.clearOverride(patientId, ruleId, actor(request));
      return reply.code(204).send();
    },
  );

  api.put(
    '/api/patients/:patientId/snoozes/:ruleId',
    { schema: { tags: ['rules'], summary: 'Snooze a rule for a patient until a time', params: patientRule, body: snoozeBody } },
    async (request) => {
      const { patientId, ruleId } = request.params;
      visiblePatient(ctx, request, patientId);
      alerts.snooze(patientId, ruleId, Date.parse(request.body.until), actor(request), request.body.note);
      return { snoozes: alerts.snoozesOf(patientId) };
    },
  );

  api.delete(
    '/api/patients/:patientId/snoozes/:ruleId',
    { schema: { tags: ['rules'], summary: 'End a snooze', params: patientRule } },
    async (request, reply) => {
      const { patientId, ruleId } = request.params;
      visiblePatient(ctx, request, patientId);
      alerts.unsnooze(patientId, ruleId, actor(request));
      return reply.code(204).send();
    },
  );

  api.get('/api/patients', { schema: { tags: ['patients'], summary: 'The patients this user may see' } }, async (request) => ({
    patients: visiblePatients(ctx, request.principal!),
  }));
}
