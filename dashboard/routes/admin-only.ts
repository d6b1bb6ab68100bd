import type { FastifyRequest } from 'fastify';
import { entityIdSchema, VigilError } from '../../domain/index.js';
import { requireAdmin } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import { actor, type DashboardContext } from '../context.js';

type RoleCheck = (request: FastifyRequest) => Principal;

/**
 * The role check of an administrators' route, its refusal (403) recorded as `access.denied` with the path, as a
 * patient outside the caller's teams is: a clinician, or a token, trying a patient's export or erasure, the audit
 * log or someone's credentials is an attempt the log must show. `patientOf` names the patient the route is about.
 */
export function deniedUnless(ctx: DashboardContext, request: FastifyRequest, check: RoleCheck = requireAdmin, patientOf?: (request: FastifyRequest) => string | null): Principal {
  try {
    return check(request);
  } catch (err) {
    if (err instanceof VigilError && err.code === 'VIGIL_ERR_FORBIDDEN') ctx.audit.record(actor(request), 'access.denied', patientOf?.(request) ?? null, request.url.split('?')[0] ?? null);
    throw err;
  }
}

/** onRequest hook form of `deniedUnless`, for a scope whose every route needs the role. */
export function adminOnly(ctx: DashboardContext, check: RoleCheck = requireAdmin, patientOf?: (request: FastifyRequest) => string | null) {
  return async (request: FastifyRequest): Promise<void> => void deniedUnless(ctx, request, check, patientOf);
}

/** The patient id in an `:id` path parameter (still unvalidated in onRequest), if it is one. */
export function patientIdParam(request: FastifyRequest): string | null {
  return entityIdSchema.safeParse((request.params as { id?: unknown } | undefined)?.id).data ?? null;
}
