import type { FastifyRequest } from 'fastify';
import { VigilError } from '../domain/index.js';
import type { Authenticator, BearerRefusal } from './auth/authenticate.js';
import { canSeeTeam, type Principal } from './auth/principal.js';
import { actor, auditView, type DashboardContext } from './context.js';

/**
 * Audits a refused bearer credential as `access.refused`: the token it named (revoked, expired, its user disabled)
 * or `unknown`, the address and path, never the credential. One entry per address, reason and token in the
 * repeat window: a client retrying a dead token for hours, or guessing, does not flood the log (the rate limit
 * bounds the requests themselves).
 */
export function auditRefusal(ctx: DashboardContext, request: FastifyRequest, refusal: BearerRefusal): void {
  if (!ctx.views.audit(`refused|${request.ip}|${refusal.reason}|${refusal.tokenId ?? ''}`, Date.now())) return;
  const details = { reason: refusal.reason, ...(refusal.tokenId === undefined ? {} : { tokenId: refusal.tokenId }), path: request.url.split('?')[0] };
  ctx.audit.record({ name: 'unauthenticated', origin: request.ip }, 'access.refused', null, refusal.username === undefined ? null : `user:${refusal.username}`, details);
}

/**
 * Audits a session's state change refused for a missing or wrong CSRF token or another site's origin, as
 * `access.refused` by the session's user (the server's, not a header's) with the path: a forged request from a page
 * the user had open leaves a trace. One entry per address and user in the repeat window.
 */
export function auditForgery(ctx: DashboardContext, request: FastifyRequest, username: string): void {
  if (!ctx.views.audit(`forged|${request.ip}|${username}`, Date.now())) return;
  ctx.audit.record({ name: `user:${username}`, origin: request.ip }, 'access.refused', null, null, { reason: 'csrf', path: request.url.split('?')[0] });
}

/**
 * The dashboard's access decisions for routes other components serve on the same HTTP server (FHIR): who is
 * asking (session cookie, personal API token or the admin token), whether they may see a care team's patient,
 * and the audit log with the same repeat-view rule as the JSON API. One place decides, whatever the route.
 */
export function requestAccess(ctx: DashboardContext, authenticate: Authenticator) {
  return {
    async identify(request: FastifyRequest): Promise<Principal> {
      const principal = await authenticate(request);
      if (!principal) throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'send Authorization: Bearer <API token>, or log in first');
      request.principal = principal;
      return principal;
    },
    canSee: (request: FastifyRequest, careTeam: string | null) => canSeeTeam(request.principal!, careTeam),
    auditView: (request: FastifyRequest, action: string, patientId: string | null, target: string | null, view: string, details?: unknown) =>
      auditView(ctx, request, action, patientId, target, view, details),
    denied: (request: FastifyRequest, patientId: string | null, target: string) => ctx.audit.record(actor(request), 'access.denied', patientId, target),
    record: (request: FastifyRequest, action: string, patientId: string | null, target: string | null, details?: unknown) => ctx.audit.record(actor(request), action, patientId, target, details),
  };
}
