import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { VigilError } from '../../domain/index.js';
import { sameOrigin, type Authenticator } from '../auth/authenticate.js';
import type { LiveHub } from './live-hub.js';

const liveQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });

/**
 * `GET /api/live?after=<seq>` upgrades to a WebSocket for the logged-in user (session cookie, same origin: a page
 * of another site must not ride on the clinician's cookie) or an integration with the bearer token.
 */
export async function registerLiveRoute(app: FastifyInstance, hub: LiveHub, authenticate: Authenticator): Promise<void> {
  app.get(
    '/api/live',
    {
      websocket: true,
      logLevel: 'warn',
      schema: { hide: true },
      preValidation: async (request) => {
        if (!sameOrigin(request)) throw new VigilError('VIGIL_ERR_FORBIDDEN', 'the live channel accepts connections from this origin only');
        const principal = await authenticate(request);
        if (!principal) throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'log in first');
        request.principal = principal;
      },
    },
    (socket, request) => {
      const parsed = liveQuery.safeParse(request.query);
      hub.attach(socket, request.principal!, parsed.success ? parsed.data.after : 0);
    },
  );
}
