import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { entityIdSchema, patientErasureSchema, patientExportSchema, VigilError } from '../../domain/index.js';
import type { Actor } from '../../state/index.js';
import { actor, type DashboardContext } from '../context.js';
import { adminOnly, patientIdParam } from './admin-only.js';
import { responses } from './responses.js';

/**
 * A patient's right of access and right to erasure, as the composition root provides them (the dashboard does
 * not know where all of a patient's data lives). Both record themselves in the audit log.
 */
export interface PatientDataActions {
  export(patientId: string, by: Actor): Promise<{ readonly manifest: unknown; readonly files: readonly { readonly path: string; readonly text: string }[] }>;
  erase(patientId: string, by: Actor): Promise<Readonly<Omit<z.input<typeof patientErasureSchema>, 'earlierExports' | 'replacedData'>> & {
    readonly earlierExports: readonly z.input<typeof patientErasureSchema>['earlierExports'][number][];
    readonly replacedData: readonly string[];
  }>;
}

const params = z.object({ id: entityIdSchema });
const eraseBody = z.object({ confirm: entityIdSchema.describe('the patient id again: an erasure cannot be undone') });

/** Administrators only (clinicians get 403): export a patient's data as one download, erase a patient. */
export async function registerPatientDataRoutes(app: FastifyInstance, ctx: DashboardContext, actions: PatientDataActions): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook('onRequest', adminOnly(ctx, undefined, patientIdParam));

  api.get(
    '/api/admin/patients/:id/export',
    {
      schema: {
        tags: ['admin'],
        summary: "Everything held about a patient: a JSON document with the manifest and each CSV file's text",
        params,
        response: responses({ 200: patientExportSchema }, 400, 401, 403, 404),
      },
    },
    async (request, reply) => {
      const data = await actions.export(request.params.id, actor(request));
      reply.header('content-disposition', `attachment; filename="patient-${request.params.id}-export.json"`);
      return { manifest: data.manifest, files: [...data.files] };
    },
  );

  api.post(
    '/api/admin/patients/:id/erase',
    {
      schema: {
        tags: ['admin'],
        summary: 'Erase a patient: registry entry, alerts, readings; devices unassigned; audited under a pseudonym',
        params,
        body: eraseBody,
        response: responses({ 200: patientErasureSchema }, 400, 401, 403, 404),
      },
    },
    async (request) => {
      if (request.body.confirm !== request.params.id) throw new VigilError('VIGIL_ERR_BAD_REQUEST', 'confirm must repeat the patient id');
      let erased: Awaited<ReturnType<PatientDataActions['erase']>>;
      try {
        erased = await actions.erase(request.params.id, actor(request));
      } finally {
        // Gone from the worklist of the next caller, not a second later: also when the erasure failed after it
        // deleted the registry entry (the store down), to be run again.
        ctx.worklist.invalidate();
      }
      return { ...erased, earlierExports: [...erased.earlierExports], replacedData: [...erased.replacedData] };
    },
  );
}
