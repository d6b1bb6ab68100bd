import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../domain/index.js';
import type { ApiTokenStore, SessionStore, UserStore } from './identity.js';
import type { Principal } from './principal.js';

export const SESSION_COOKIE = 'vigil_session';
const ACTOR = /^[\w .@-]{1,64}$/;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function sameText(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * A request from a page of another site carries the browser's cookies; Origin (sent by browsers on every
 * POST and WebSocket upgrade) must then name this server. Requests without Origin come from non-browser clients.
 */
export function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

/** `X-Vigil-Background: 1`: a request the page made by itself (a live refresh), not a person's action. */
export function isBackground(request: FastifyRequest): boolean {
  return request.headers['x-vigil-background'] === '1';
}

/** A bearer credential refused (HTTP 401): which token it named, if any, and why; never the credential itself. */
export interface BearerRefusal {
  readonly reason: 'unknown' | 'revoked' | 'expired' | 'user-disabled';
  readonly tokenId?: number | undefined;
  readonly username?: string | undefined;
}

export interface Authenticator {
  /**
   * The principal of a request, or undefined: no credentials, or expired. Checks CSRF for unsafe methods.
   * `background`: the request is not a person's input whatever its headers say (a WebSocket upgrade, which a
   * browser cannot mark), so it does not restart the session's idle clock.
   */
  (request: FastifyRequest, options?: { readonly background?: boolean }): Promise<Principal | undefined>;
}

/** The holder of VIGIL_ADMIN_TOKEN; `X-Vigil-Actor` names the person it acts for. */
function admin(request: FastifyRequest): Principal {
  const actor = request.headers['x-vigil-actor'];
  const name = typeof actor === 'string' && ACTOR.test(actor) ? `admin:${actor}` : 'admin';
  return { kind: 'token', userId: null, username: name, displayName: name, role: 'admin', careTeams: [] };
}

/**
 * Three ways in. `Authorization: Bearer <VIGIL_ADMIN_TOKEN>` for integrations (an admin; `X-Vigil-Actor` names the
 * person it acts for). `Authorization: Bearer vigil_pat_...`, a user's personal API token: the user, with their
 * role and care teams as they are now (a disabled user's tokens stop). A session cookie for people, whose state-changing requests must also carry the session's
 * CSRF token in `X-CSRF-Token` (the cookie is SameSite=Strict as well: two independent defences). A person's
 * requests restart the session's idle clock; the page's background refreshes (`X-Vigil-Background: 1`) do not,
 * so that a screen left open still logs off.
 */
const BEARER = /^bearer +(\S+) *$/i;

export function createAuthenticator(options: {
  adminToken: string | undefined;
  users: UserStore;
  sessions: SessionStore;
  tokens: ApiTokenStore;
  now?: () => number;
  onRefused?: (request: FastifyRequest, refusal: BearerRefusal) => void;
  /** A session's state change refused for its CSRF token or origin: a page of another site riding the cookie, or a bug. */
  onForged?: (request: FastifyRequest, username: string) => void;
}): Authenticator {
  const now = options.now ?? Date.now;
  const expected = options.adminToken ? digest(options.adminToken) : undefined;
  return async (request, authOptions) => {
    const header = request.headers.authorization;
    if (header !== undefined) {
      // The scheme name is case-insensitive (RFC 7235 2.1): some HTTP clients send "bearer".
      const presented = BEARER.exec(header)?.[1] ?? '';
      // The admin token first: it needs no database, so integrations holding it work through a PostgreSQL outage.
      if (expected && presented && timingSafeEqual(digest(presented), expected)) return admin(request);
      const personal = presented ? await options.tokens.verify(presented, now()) : undefined;
      if (personal) {
        const user = await options.users.get(personal.userId);
        if (!user || user.disabledAt !== null) {
          options.onRefused?.(request, { reason: 'user-disabled', tokenId: personal.id, username: user?.username });
          throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'the API token belongs to a disabled user');
        }
        return { kind: 'token', userId: user.id, username: user.username, displayName: user.displayName, role: user.role, careTeams: user.careTeams, tokenId: personal.id };
      }
      const named = presented ? await options.tokens.refusal(presented, now()) : undefined;
      options.onRefused?.(request, named ? { reason: named.reason, tokenId: named.id, username: named.username } : { reason: 'unknown' });
      throw new VigilError('VIGIL_ERR_UNAUTHORIZED', expected ? 'missing, wrong, revoked or expired bearer token' : 'unknown, revoked or expired API token (and VIGIL_ADMIN_TOKEN is not set)');
    }
    const sessionId = request.cookies[SESSION_COOKIE];
    if (!sessionId) return undefined;
    // The page's own refreshes say so: they must not keep a session alive that nobody is using.
    const session = await (authOptions?.background || isBackground(request) ? options.sessions.peek(sessionId, now()) : options.sessions.touch(sessionId, now()));
    if (!session) return undefined;
    const user = await options.users.get(session.userId);
    if (!user || user.disabledAt !== null) return undefined;
    if (UNSAFE.has(request.method)) {
      const token = request.headers['x-csrf-token'];
      if (typeof token !== 'string' || !sameText(token, session.csrfToken) || !sameOrigin(request)) {
        options.onForged?.(request, user.username);
        throw new VigilError('VIGIL_ERR_FORBIDDEN', 'missing or wrong X-CSRF-Token, or a request from another origin');
      }
    }
    return {
      kind: 'session',
      userId: user.id,
      username: user.username,
      displayName: user.displayName,
      role: user.role,
      careTeams: user.careTeams,
      sessionId,
      csrfToken: session.csrfToken,
    };
  };
}

/** onRequest hook for the protected API: 401 without a principal. */
export function requirePrincipal(authenticate: Authenticator) {
  return async function (request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    const principal = await authenticate(request);
    if (!principal) throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'log in first (or the session ended after inactivity)');
    request.principal = principal;
  };
}

export function requireAdmin(request: FastifyRequest): Principal {
  const principal = request.principal!;
  if (principal.role !== 'admin') throw new VigilError('VIGIL_ERR_FORBIDDEN', 'this needs the admin role');
  return principal;
}

/**
 * An administrator, but not through a personal API token: creating credentials (users, passwords, tokens) with one
 * would turn a leaked token into access that outlives its revocation. A logged-in session, VIGIL_ADMIN_TOKEN or
 * the CLI does these.
 */
export function requireAdminInPerson(request: FastifyRequest): Principal {
  const principal = requireAdmin(request);
  if (principal.tokenId !== undefined) throw new VigilError('VIGIL_ERR_FORBIDDEN', 'users and API tokens are managed from a logged-in session, VIGIL_ADMIN_TOKEN or the CLI, not with a personal API token');
  return principal;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}
