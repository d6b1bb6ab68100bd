import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { VigilError } from '../../domain/index.js';
import { sameOrigin, type Authenticator } from '../auth/authenticate.js';
import { MAX_LIVE_PER_CALLER } from './caller-limit.js';
import type { LiveHub } from './live-hub.js';

/**
 * Records a live connection once it is attached: its replay (`count` events sent) was a read of alert history, and
 * while `streaming` (not refused or dropped during the replay) it carries the alerts and readings of every patient the
 * caller may see. The caller's repeat-view rule applies.
 */
export type LiveAudit = (request: FastifyRequest, replay: { count: number; after: number; lastSeq: number }, streaming: boolean) => void;

const liveQuery = z.object({ after: z.coerce.number().int().min(0).default(0) });

/**
 * `GET /api/live?after=<seq>` upgrades to a WebSocket for the logged-in user (session cookie, same origin: a page
 * of another site must not ride on the clinician's cookie) or an integration with the bearer token.
 */
export async function registerLiveRoute(app: FastifyInstance, hub: LiveHub, authenticate: Authenticator, auditOpened: LiveAudit): Promise<void> {
  app.get(
    '/api/live',
    {
      websocket: true,
      logLevel: 'warn',
      schema: { hide: true },
      preValidation: async (request) => {
        if (!sameOrigin(request)) throw new VigilError('VIGIL_ERR_FORBIDDEN', 'the live channel accepts connections from this origin only');
        // Connecting (or reconnecting after a network blip) is not a person's input: the idle clock runs on.
        const principal = await authenticate(request, { background: true });
        if (!principal) throw new VigilError('VIGIL_ERR_UNAUTHORIZED', 'log in first');
        request.principal = principal;
        if (!hub.admits(principal, request.ip)) throw new VigilError('VIGIL_ERR_RATE_LIMITED', `too many live connections for this session or token (at most ${MAX_LIVE_PER_CALLER}): close another one`);
      },
    },
    (socket, request) => {
      const parsed = liveQuery.safeParse(request.query);
      const after = parsed.success ? parsed.data.after : 0;
      const { replayed, lastSeq } = hub.attach(socket, request.principal!, after, request.ip);
      auditOpened(request, { count: replayed, after, lastSeq }, socket.readyState === socket.OPEN);
    },
  );
}
