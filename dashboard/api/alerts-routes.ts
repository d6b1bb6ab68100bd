import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEFAULT_RULE_SET, PROGRAMME_RULE_OVERRIDES, PROGRAMME_RULE_SETS, SEVERITIES, type AlertEngine } from '../../alerts/index.js';
import { entityIdSchema } from '../../domain/index.js';

const alertQuery = z.object({
  status: z.enum(['open', 'acknowledged', 'resolved', 'live']).optional(),
  severity: z.enum(SEVERITIES).optional(),
  patient: entityIdSchema.optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(500),
});
const idParams = z.object({ id: z.coerce.number().int().positive() });
const noteBody = z.object({ note: z.string().max(2000).optional() }).default({});
const patientRule = z.object({ patientId: entityIdSchema, ruleId: z.string().regex(/^[a-z0-9_.-]+$/) });
const snoozeBody = z.object({ until: z.iso.datetime({ offset: true }), note: z.string().max(2000).optional() });
const overrideBody = z.record(z.string(), z.unknown());
const eventsQuery = z.object({ after: z.coerce.number().int().min(0).default(0), limit: z.coerce.number().int().min(1).max(1000).default(500) });

/**
 * The alerts API: list and read alerts, acknowledge and resolve them, snooze a rule for a patient, and
 * override a rule's values for a patient. Every change is written to the audit log by the engine.
 */
export async function registerAlertRoutes(app: FastifyInstance, engine: AlertEngine): Promise<void> {
  app.get('/api/alerts', async (request) => {
    const q = alertQuery.parse(request.query);
    return { alerts: engine.list({ status: q.status, severity: q.severity, patientId: q.patient, limit: q.limit }) };
  });

  app.get('/api/alerts/events', async (request) => {
    const q = eventsQuery.parse(request.query);
    return { events: engine.eventsAfter(q.after, q.limit) };
  });

  app.get('/api/alerts/:id', async (request, reply) => {
    const { id } = idParams.parse(request.params);
    const found = engine.get(id);
    if (!found) return reply.code(404).send({ code: 'VIGIL_ERR_NOT_FOUND', message: `alert ${id} does not exist` });
    return found;
  });

  app.post('/api/alerts/:id/acknowledge', async (request) => {
    const { id } = idParams.parse(request.params);
    const { note } = noteBody.parse(request.body ?? {});
    return { alert: engine.acknowledge(id, request.actor!, note) };
  });

  app.post('/api/alerts/:id/resolve', async (request) => {
    const { id } = idParams.parse(request.params);
    const { note } = noteBody.parse(request.body ?? {});
    return { alert: engine.resolve(id, request.actor!, note) };
  });

  app.get('/api/rules', async () => ({
    defaults: DEFAULT_RULE_SET,
    programmes: Object.fromEntries(
      Object.entries(PROGRAMME_RULE_SETS).map(([p, rules]) => [p, { rules, overrides: PROGRAMME_RULE_OVERRIDES[p as keyof typeof PROGRAMME_RULE_OVERRIDES] }]),
    ),
  }));

  app.get('/api/patients/:patientId/rules', async (request) => {
    const { patientId } = z.object({ patientId: entityIdSchema }).parse(request.params);
    return { rules: engine.rulesFor(patientId), overrides: Object.fromEntries(engine.overridesOf(patientId)), snoozes: engine.snoozesOf(patientId) };
  });

  app.put('/api/patients/:patientId/rules/:ruleId', async (request) => {
    const { patientId, ruleId } = patientRule.parse(request.params);
    return { rule: engine.setOverride(patientId, ruleId, overrideBody.parse(request.body), request.actor!) };
  });

  app.delete('/api/patients/:patientId/rules/:ruleId', async (request, reply) => {
    const { patientId, ruleId } = patientRule.parse(request.params);
    engine.clearOverride(patientId, ruleId, request.actor!);
    return reply.code(204).send();
  });

  app.put('/api/patients/:patientId/snoozes/:ruleId', async (request) => {
    const { patientId, ruleId } = patientRule.parse(request.params);
    const body = snoozeBody.parse(request.body);
    engine.snooze(patientId, ruleId, Date.parse(body.until), request.actor!, body.note);
    return { snoozes: engine.snoozesOf(patientId) };
  });

  app.delete('/api/patients/:patientId/snoozes/:ruleId', async (request, reply) => {
    const { patientId, ruleId } = patientRule.parse(request.params);
    engine.unsnooze(patientId, ruleId, request.actor!);
    return reply.code(204).send();
  });

  app.get('/api/audit', async (request) => {
    const { limit } = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(200) }).parse(request.query);
    return { entries: engine.auditLog({ limit }) };
  });
}
