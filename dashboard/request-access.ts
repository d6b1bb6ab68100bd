import type { FastifyRequest } from 'fastify';
import { VigilError } from '../domain/index.js';
import type { Authenticator } from './auth/authenticate.js';
import { canSeeTeam, type Principal } from './auth/principal.js';
import { actor, auditView, type DashboardContext } from './context.js';

/**
 * The dashboard's access decisions for routes other components serve on the same HTTP server (FHIR): who is
 * asking (session cookie, personal API token or the admin token), whether they may see a care team's patient,
 * and the audit log with the same repeat-view rule as the JSON API. One place decides, whatever the route.
 */
export function requestAccess(ctx: DashboardContext, authenticate: Authenticator) {
  return {
    identify(request: FastifyRequest): Principal {
      const principal = authenticate(request);
      if (!principal) throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'send Authorization: Bearer <API token>, or log in first');
      request.principal = principal;
      return principal;
    },
    canSee: (request: FastifyRequest, careTeam: string | null) => canSeeTeam(request.principal!, careTeam),
    auditView: (request: FastifyRequest, action: string, patientId: string | null, target: string | null, view: string, details?: unknown) =>
      auditView(ctx, request, action, patientId, target, view, details),
    denied: (request: FastifyRequest, patientId: string, target: string) => ctx.audit.record(actor(request), 'access.denied', patientId, target),
    record: (request: FastifyRequest, action: string, patientId: string | null, target: string | null, details?: unknown) => ctx.audit.record(actor(request), action, patientId, target, details),
  };
}
