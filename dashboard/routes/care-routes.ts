import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { CareLoop } from '../../careloop/index.js';
import { educationInputSchema, measurementsSchema, medicationInputSchema, PLAN_TEMPLATES, TEMPLATE_MEASUREMENTS } from '../../careloop/index.js';
import { carePlanSchema, careMessageSchema, educationItemSchema, entityIdSchema, isProgramme, medicationSchema, patientCareSchema, READING_TYPES, VigilError, type CareMessage } from '../../domain/index.js';
import { canSeeTeam } from '../auth/principal.js';
import { actor, auditView, visiblePatient, type DashboardContext } from '../context.js';
import { responses } from './responses.js';

const patientParams = z.object({ patientId: entityIdSchema });
const careQuery = z.object({ days: z.coerce.number().int().min(1).max(90).default(7).describe('adherence over this many days before now (1-90)') });
const planBody = z.object({
  template: z.enum(PLAN_TEMPLATES).describe('a programme whose starting plan to use, or custom'),
  measurements: z.array(z.unknown()).optional().describe("the plan's measurements; left out, the template's"),
});
const messageBody = z.object({
  text: z.string().trim().min(1).max(2000),
  measure: z.enum(READING_TYPES).optional().describe('ask the patient to measure this now'),
  alertId: z.number().int().positive().optional().describe('the alert the message is about'),
});

/** The thread as the patient page shows it: each message with its hub receipts. */
function thread(care: CareLoop, patientId: string): CareMessage[] {
  return care.messages.thread(patientId).map((m) => {
    const sent = m.direction === 'to_patient' ? care.inbox.get(m.id) : undefined;
    return { ...m, deliveredAt: sent?.deliveredAt ?? null, readAt: sent?.readAt ?? null };
  });
}

/**
 * The care loop on the patient page (docs/hub-protocol.md): plan, medications, adherence and messages. The
 * patient's care team and administrators; every change is audited by the care loop in its own transaction.
 */
export async function registerCareRoutes(app: FastifyInstance, ctx: DashboardContext, care: CareLoop): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/patients/:patientId/care',
    {
      schema: {
        tags: ['care'],
        summary: "The patient's monitoring plan, medications, measurement and medication adherence, and the message thread with the hub",
        params: patientParams,
        querystring: careQuery,
        response: responses({ 200: patientCareSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { days } = request.query;
      auditView(ctx, request, 'patient.care.view', patient.id, null, `care|${days}`, { days });
      const hubId = care.hubOf(patient.id);
      const hub = hubId ? { id: hubId, online: ctx.directory.devices().find((d) => d.id === hubId)?.online ?? false } : null;
      const adherence = await care.adherence(patient.id, days);
      return {
        patientId: patient.id,
        timeZone: patient.timeZone,
        hub,
        plan: care.plans.get(patient.id) ?? null,
        templates: { ...TEMPLATE_MEASUREMENTS },
        medications: care.medications.of(patient.id),
        adherence: { days, ...adherence },
        messages: thread(care, patient.id),
        education: care.education.of(patient.id),
      };
    },
  );

  api.put(
    '/api/patients/:patientId/care/plan',
    {
      schema: {
        tags: ['care'],
        summary: "Set the patient's monitoring plan: measurements at local times of day (or continuous); it drives reminders, missing-data rules and adherence",
        params: patientParams,
        body: planBody,
        response: responses({ 200: carePlanSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { template, measurements } = request.body;
      const chosen = measurements ?? (isProgramme(template) ? TEMPLATE_MEASUREMENTS[template] : undefined);
      if (!chosen) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'a custom plan needs its measurements');
      // Checked here too, so that a bad plan is a 400 before anything is written.
      measurementsSchema.parse(chosen);
      return care.plans.set(patient.id, template, chosen, actor(request), Date.now());
    },
  );

  api.post(
    '/api/patients/:patientId/care/medications',
    {
      schema: {
        tags: ['care'],
        summary: 'Add a medication with its times of day; the hub reminds the patient and records taken, skipped or missed doses',
        params: patientParams,
        body: medicationInputSchema,
        response: responses({ 201: medicationSchema }, 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      return reply.code(201).send(care.medications.add(patient.id, request.body, actor(request), Date.now()));
    },
  );

  api.post(
    '/api/patients/:patientId/care/medications/:medicationId/stop',
    {
      schema: {
        tags: ['care'],
        summary: 'Stop a medication: no more reminders; its doses stay in the record',
        params: patientParams.extend({ medicationId: z.string().min(1).max(64) }),
        response: responses({ 200: medicationSchema }, 400, 401, 403, 404, 409),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      return care.medications.stop(patient.id, request.params.medicationId, actor(request), Date.now());
    },
  );

  api.post(
    '/api/patients/:patientId/care/messages',
    {
      schema: {
        tags: ['care'],
        summary: "Send a message to the patient's hub (optionally asking for a measurement now, or about an alert); receipts follow in the thread",
        params: patientParams,
        body: messageBody,
        response: responses({ 201: careMessageSchema }, 400, 401, 403, 404, 409),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const alertId = request.body.alertId;
      const alert = alertId === undefined ? undefined : ctx.alerts.queries.get(alertId)?.alert;
      if (alertId !== undefined && alert?.patientId !== patient.id) {
        // Another team's alert is refused like one that does not exist, and the attempt is recorded as any other.
        if (alert && !canSeeTeam(request.principal!, ctx.directory.patient(alert.patientId)?.careTeam ?? null)) {
          ctx.audit.record(actor(request), 'access.denied', alert.patientId, `alert:${alert.id}`);
        }
        throw new VigilError('VIGIL_ERR_NOT_FOUND', `alert ${alertId} is not an alert of patient ${patient.id}`);
      }
      // The education items attached to the alert's rule go with the message.
      const sent = await care.sendMessage(patient.id, { ...request.body, alertRuleId: alert?.ruleId }, actor(request), request.principal!.username);
      return reply.code(201).send(thread(care, patient.id).find((m) => m.id === sent.id)!);
    },
  );

  api.post(
    '/api/patients/:patientId/care/education',
    {
      schema: {
        tags: ['care'],
        summary: 'Attach an education item (title, body, optional https link) to the plan (sent with every reminder) or to an alert rule (sent with a message about one of its alerts)',
        params: patientParams,
        body: educationInputSchema,
        response: responses({ 201: educationItemSchema }, 400, 401, 403, 404, 409),
      },
    },
    async (request, reply) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      return reply.code(201).send(care.education.add(patient.id, request.body, actor(request), Date.now()));
    },
  );

  api.delete(
    '/api/patients/:patientId/care/education/:itemId',
    {
      schema: {
        tags: ['care'],
        summary: 'Remove an education item: not sent with later reminders or messages (those already sent keep it)',
        params: patientParams.extend({ itemId: z.string().min(1).max(64) }),
        response: responses({ 200: educationItemSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      return care.education.remove(patient.id, request.params.itemId, actor(request), Date.now());
    },
  );
}
