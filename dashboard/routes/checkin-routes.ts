import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { QUESTIONNAIRES, TEMPLATE_CHECKINS, templateCheckins, type CareLoop } from '../../careloop/index.js';
import { checkinPlanSchema, entityIdSchema, patientCheckinsSchema, PROGRAMMES, VigilError } from '../../domain/index.js';
import { actor, auditView, visiblePatient, type DashboardContext } from '../context.js';
import { responses } from './responses.js';

const DAY = 86_400_000;
const patientParams = z.object({ patientId: entityIdSchema });
const checkinsQuery = z.object({ days: z.coerce.number().int().min(1).max(90).default(14).describe('answers over this many days before now (1-90)') });
const checkinsBody = z.object({
  checkins: z.array(z.unknown()).optional().describe("the planned check-ins: questionnaire, times, days, windowMinutes; left out, the template's"),
  template: z.enum(PROGRAMMES).optional().describe("a programme whose starting check-ins to use when checkins is left out"),
});

/**
 * Symptom check-ins on the patient page (docs/checkins.md): the planned questionnaires, and the answers as coded
 * observations. The patient's care team and administrators; a change is audited by the care loop.
 */
export async function registerCheckinRoutes(app: FastifyInstance, ctx: DashboardContext, care: CareLoop): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get(
    '/api/patients/:patientId/care/checkins',
    {
      schema: {
        tags: ['care'],
        summary: "The patient's planned symptom check-ins, the questionnaires with their codes, and the answers of the last days",
        params: patientParams,
        querystring: checkinsQuery,
        response: responses({ 200: patientCheckinsSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { days } = request.query;
      auditView(ctx, request, 'patient.checkins.view', patient.id, null, `checkins|${days}`, { days });
      const now = Date.now();
      return {
        patientId: patient.id,
        timeZone: patient.timeZone,
        plan: care.checkins.plans.get(patient.id) ?? null,
        templates: Object.fromEntries(Object.keys(TEMPLATE_CHECKINS).map((p) => [p, templateCheckins(p as keyof typeof TEMPLATE_CHECKINS)])),
        questionnaires: Object.values(QUESTIONNAIRES).map((q) => ({ ...q, items: q.items.map((i) => ({ ...i, answers: [...i.answers] })) })),
        answers: care.checkins.answers(patient.id, now - days * DAY, now + 1),
      };
    },
  );

  api.put(
    '/api/patients/:patientId/care/checkins',
    {
      schema: {
        tags: ['care'],
        summary: "Set the patient's symptom check-ins: questionnaires at local times and days; sent to the hub, answers stored and used by rules",
        params: patientParams,
        body: checkinsBody,
        response: responses({ 200: checkinPlanSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      const patient = visiblePatient(ctx, request, request.params.patientId);
      const { checkins, template } = request.body;
      if (!checkins && !template) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'give the check-ins, or a programme template to start from (an empty list removes them)');
      const chosen = checkins ?? templateCheckins(template!);
      return care.checkins.plans.set(patient.id, chosen, actor(request), Date.now());
    },
  );
}
