import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { VigilError } from '../../domain/index.js';

const ACTOR = /^[\w .@-]{1,64}$/;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Bearer-token authentication for the API until clinician login exists (issue 7): `Authorization: Bearer
 * <VIGIL_ADMIN_TOKEN>`, compared in constant time. An integration may name the person it acts for in
 * `X-Vigil-Actor`; the audit log records `admin:<name>`. Without a configured token the API refuses everything.
 */
export function adminAuth(token: string | undefined) {
  const expected = token ? digest(token) : undefined;
  return async function authenticate(request: FastifyRequest, _reply: FastifyReply): Promise<void> {
    if (!expected) throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'the API is disabled: set VIGIL_ADMIN_TOKEN');
    const header = request.headers.authorization ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!presented || !timingSafeEqual(digest(presented), expected)) {
      throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'missing or wrong bearer token');
    }
    const actor = request.headers['x-vigil-actor'];
    request.actor = typeof actor === 'string' && ACTOR.test(actor) ? `admin:${actor}` : 'admin';
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    actor?: string;
  }
}
