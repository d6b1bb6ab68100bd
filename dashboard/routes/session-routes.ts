import { PasswordGate } from '../auth/password-gate.js';
import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { sessionInfoSchema, VigilError, type SessionInfo } from '../../domain/index.js';
import { SESSION_COOKIE, type Authenticator } from '../auth/authenticate.js';
import { login } from '../auth/login.js';
import { actor, type DashboardContext } from '../context.js';
import { noContent, responses } from './responses.js';

const loginBody = z.object({ username: z.string().min(1).max(64), password: z.string().min(1).max(256) });

/**
 * Log in, see who you are (and your CSRF token), log out. Login is rate-limited per address; `bearerLimit` limits the
 * other two when they carry a bearer value, which they check (one budget with the JSON API).
 */
export async function registerSessionRoutes(app: FastifyInstance, ctx: DashboardContext, authenticate: Authenticator, bearerLimit: onRequestHookHandler): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const cookieOptions = {
    path: '/',
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: ctx.settings.secureCookie,
  };
  const sessionInfo = (user: SessionInfo['user'], csrfToken: string): SessionInfo => ({
    user: { username: user.username, displayName: user.displayName, role: user.role, careTeams: user.careTeams },
    csrfToken,
    idleMinutes: ctx.settings.idleMinutes,
    // The longest snooze the server accepts: the dialog offers only what it will accept.
    snoozeMaxHours: ctx.alerts.queries.limits().snoozeMaxHours,
  });

  // One gate for the server's logins: password checks must not take every thread the outbox's syncs need.
  const gate = new PasswordGate();
  api.post(
    '/api/session',
    {
      schema: {
        tags: ['session'],
        summary: 'Log in with a user name and password; sets the session cookie',
        body: loginBody,
        response: responses({ 200: sessionInfoSchema }, 400, 401, 429, 503),
      },
      config: { rateLimit: { max: ctx.settings.loginRatePerMinute, timeWindow: '1 minute' } },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const result = await login(
        {
          users: ctx.users,
          sessions: ctx.sessions,
          audit: ctx.audit,
          policy: { maxFailures: ctx.settings.loginMaxFailures, lockoutMs: ctx.settings.loginLockoutMinutes * 60_000 },
          gate,
        },
        username,
        password,
        request.ip,
      );
      reply.setCookie(SESSION_COOKIE, result.sessionId, cookieOptions);
      reply.header('cache-control', 'no-store');
      return sessionInfo(result.user, result.csrfToken);
    },
  );

  const whoAmI = { tags: ['session'], summary: 'The logged-in user, and the CSRF token for state-changing requests', response: responses({ 200: sessionInfoSchema }, 401) };
  api.get('/api/session', { schema: whoAmI, onRequest: bearerLimit }, async (request, reply) => {
    // authenticate() has checked the session (and restarted its idle clock unless this is a background request).
    const principal = await authenticate(request);
    if (!principal || principal.kind !== 'session') throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'not logged in');
    // The CSRF token is a secret of this session: no cache keeps it.
    reply.header('cache-control', 'no-store');
    return sessionInfo(principal, principal.csrfToken!);
  });

  const logout = { tags: ['session'], summary: 'Log out: ends the session', response: responses({ 204: noContent }, 503) };
  api.delete('/api/session', { schema: logout, onRequest: bearerLimit }, async (request, reply) => {
    const principal = await authenticate(request);
    if (principal?.kind === 'session') {
      request.principal = principal;
      await ctx.sessions.destroy(principal.sessionId!);
      ctx.audit.record(actor(request), 'logout', null, null);
    }
    reply.clearCookie(SESSION_COOKIE, cookieOptions);
    return reply.code(204).send();
  });
}
