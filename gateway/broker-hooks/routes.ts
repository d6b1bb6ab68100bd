import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { Counter, type Registry as MetricsRegistry } from 'prom-client';
import { z } from 'zod';
import { apiErrorSchema, VigilError } from '../../domain/index.js';
import { AuthThrottle } from '../auth-throttle.js';
import type { GatewayLogger } from '../gateway.js';
import { loggedDeviceId } from '../log-fields.js';
import { LogLimiter } from '../log-limiter.js';
import type { BrokerAccess, LoginResult } from './access.js';

export interface BrokerHookOptions {
  readonly access: BrokerAccess;
  /** The shared secret the broker sends (VIGIL_BROKER_HOOK_SECRET). */
  readonly secret: string;
  readonly metrics: MetricsRegistry;
  readonly log: GatewayLogger;
  /** Called when something that is not the broker calls a hook with a wrong secret (the audit log records it). */
  readonly onUnauthorizedCaller: (address: string, path: string) => void;
  /** The largest device payload (VIGIL_MAX_PAYLOAD_BYTES): VerneMQ's auth_on_publish carries it, base64-encoded. */
  readonly maxPayloadBytes: number;
}

/** The error answers of every hook: the API's one error body (the dashboard's `responses` declares the same). */
const failures = { 400: apiErrorSchema, 401: apiErrorSchema, 429: apiErrorSchema, 500: apiErrorSchema };
const text = z.string().nullish().transform((v) => v ?? undefined);

// EMQX 5 sends the JSON body its authenticator / authoriser is configured with (docs/deployment.md gives it).
const emqxAuthnBody = z.looseObject({ username: text, password: text, clientid: text, peerhost: text });
const emqxAuthzBody = z.looseObject({ username: text, clientid: text, action: z.string(), topic: z.string() });
const emqxAuthnAnswer = z.object({ result: z.enum(['allow', 'deny']), is_superuser: z.boolean() });
const emqxAuthzAnswer = z.object({ result: z.enum(['allow', 'deny']) });

// VerneMQ's webhooks (vmq_webhooks): one endpoint, the hook named in the `vernemq-hook` header.
const vmqTopic = z.object({ topic: z.string(), qos: z.number().int() });
const vernemqBody = z.looseObject({
  username: text,
  password: text,
  client_id: text,
  peer_addr: text,
  topic: z.string().optional(),
  topics: z.array(vmqTopic).optional(),
});
const vernemqAnswer = z.object({
  result: z.union([z.literal('ok'), z.object({ error: z.string() })]),
  topics: z.array(vmqTopic).optional().describe('auth_on_subscribe: the topics with 128 for those refused'),
  modifiers: z.object({ topics: z.array(vmqTopic) }).optional().describe('auth_on_subscribe_m5: the topics with 135 for those refused'),
});
type VernemqAnswer = z.infer<typeof vernemqAnswer>;

const NOT_ALLOWED: VernemqAnswer = { result: { error: 'not_allowed' } };

/**
 * The HTTP authentication and authorisation hooks of EMQX 5 and VerneMQ, served by Vigil so that the broker
 * lets in exactly the devices of Vigil's registry, each on its own topics. Only the broker may call them: each
 * request carries the shared secret as `Authorization: Bearer <secret>` (EMQX's configured headers) or as
 * `?token=<secret>` (VerneMQ's webhooks send no custom header; request logs keep the path only). A decision is
 * always HTTP 200 with the broker's own answer format; 401 and 429 are only for a caller without the secret, and
 * the broker treats them as "ignore" (docs/deployment.md: make Vigil the only authenticator and deny on no match).
 */
export async function registerBrokerHooks(app: FastifyInstance, o: BrokerHookOptions): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const requests = new Counter({
    name: 'vigil_broker_hook_requests_total',
    help: 'Calls of the brokers\' authentication and authorisation hooks, by hook and result',
    labelNames: ['hook', 'result'] as const,
    registers: [o.metrics],
  });
  const callers = new AuthThrottle(10);
  const logLimiter = new LogLimiter();
  // The counts of lines folded since each key's last line, which no later call will carry.
  app.addHook('onClose', async () => logLimiter.close());
  const expected = Buffer.from(o.secret);

  /** The shared secret, from the header or the query; a caller that keeps getting it wrong is held off. */
  function callerAllowed(req: FastifyRequest, reply: FastifyReply, hook: string): boolean {
    const header = req.headers.authorization;
    const given = header?.startsWith('Bearer ') ? header.slice(7) : (req.query as { token?: unknown } | undefined)?.token;
    const bytes = Buffer.from(typeof given === 'string' ? given : '');
    if (callers.blocked(req.ip)) {
      requests.inc({ hook, result: 'throttled' });
      void reply.code(429).send({ code: 'VIGIL_ERR_RATE_LIMITED', message: 'too many calls without the hook secret' });
      return false;
    }
    if (bytes.length === expected.length && timingSafeEqual(bytes, expected)) return true;
    callers.fail(req.ip);
    requests.inc({ hook, result: 'unauthorized' });
    logLimiter.note(`hook-caller:${req.ip}`, (count) => o.log.warn({ remoteAddress: req.ip, count }, 'broker hook called without the right secret'));
    o.onUnauthorizedCaller(req.ip, req.url.split('?')[0] ?? '');
    void reply.code(401).send({ code: 'VIGIL_ERR_UNAUTHORIZED', message: 'the broker hook secret is missing or wrong' });
    return false;
  }

  function noteLogin(hook: string, result: LoginResult, username: string | undefined): void {
    requests.inc({ hook, result: result.allow ? 'allow' : result.reason });
    if (!result.allow && result.reason !== 'bad-credentials' && result.reason !== 'unknown') {
      // The username is as the broker sent it (a throttled one was never matched to a device, and an EMQX CONNECT
      // may carry a megabyte of it): the line keeps its start and its length, and not the username meanwhile.
      const id = username === undefined ? {} : loggedDeviceId(username);
      logLimiter.note(`login:${result.reason}`, (count) => o.log.warn({ ...id, reason: result.reason, count }, 'broker login refused'));
    }
  }

  const common = { tags: ['broker hooks'], hide: false, querystring: z.looseObject({ token: z.string().optional() }) };

  api.post(
    '/broker-hooks/emqx/authenticate',
    { logLevel: 'warn', schema: { ...common, summary: 'EMQX 5 HTTP authentication: may this client log in?', body: emqxAuthnBody, response: { 200: emqxAuthnAnswer, ...failures } } },
    async (req, reply) => {
      if (!callerAllowed(req, reply, 'emqx_authenticate')) return reply;
      const b = req.body;
      const result = await o.access.login({ username: b.username, password: b.password, clientId: b.clientid, peer: b.peerhost });
      noteLogin('emqx_authenticate', result, b.username);
      // Never a superuser: every client, workers included, goes through the authorisation hook.
      return { result: result.allow ? ('allow' as const) : ('deny' as const), is_superuser: false };
    },
  );

  api.post(
    '/broker-hooks/emqx/authorize',
    { logLevel: 'warn', schema: { ...common, summary: 'EMQX 5 HTTP authorisation: may this client publish or subscribe here?', body: emqxAuthzBody, response: { 200: emqxAuthzAnswer, ...failures } } },
    async (req, reply) => {
      if (!callerAllowed(req, reply, 'emqx_authorize')) return reply;
      const { username, action, topic } = req.body;
      const allow = action === 'publish' ? o.access.mayPublish(username, topic) : action === 'subscribe' ? o.access.maySubscribe(username, topic) : false;
      requests.inc({ hook: `emqx_${action === 'publish' || action === 'subscribe' ? action : 'other'}`, result: allow ? 'allow' : 'deny' });
      return { result: allow ? ('allow' as const) : ('deny' as const) };
    },
  );

  api.post(
    '/broker-hooks/vernemq',
    {
      logLevel: 'warn',
      bodyLimit: Math.ceil((o.maxPayloadBytes * 4) / 3) + 64 * 1024,
      schema: {
        ...common,
        summary: 'VerneMQ webhooks auth_on_register, auth_on_publish, auth_on_subscribe (and their _m5 forms), named by the vernemq-hook header',
        headers: z.looseObject({ 'vernemq-hook': z.string() }),
        body: vernemqBody,
        response: { 200: vernemqAnswer, ...failures },
      },
    },
    async (req, reply) => {
      const hook = req.headers['vernemq-hook'];
      if (!callerAllowed(req, reply, `vernemq_${hook}`)) return reply;
      const b = req.body;
      switch (hook) {
        case 'auth_on_register':
        case 'auth_on_register_m5': {
          const result = await o.access.login({ username: b.username, password: b.password, clientId: b.client_id, peer: b.peer_addr });
          noteLogin(`vernemq_${hook}`, result, b.username);
          return result.allow ? { result: 'ok' as const } : NOT_ALLOWED;
        }
        case 'auth_on_publish':
        case 'auth_on_publish_m5': {
          const allow = b.topic !== undefined && o.access.mayPublish(b.username, b.topic);
          requests.inc({ hook: `vernemq_${hook}`, result: allow ? 'allow' : 'deny' });
          // VerneMQ may cache a grant (not a refusal) this long: a revoked device's readings are refused by the worker meanwhile.
          if (allow) void reply.header('cache-control', 'max-age=30');
          return allow ? { result: 'ok' as const } : NOT_ALLOWED;
        }
        case 'auth_on_subscribe':
        case 'auth_on_subscribe_m5': {
          const topics = b.topics ?? [];
          const granted = topics.map((t) => ({ topic: t.topic, allowed: o.access.maySubscribe(b.username, t.topic), qos: t.qos }));
          const allowed = granted.filter((t) => t.allowed).length;
          requests.inc({ hook: `vernemq_${hook}`, result: allowed === topics.length && allowed > 0 ? 'allow' : 'deny' });
          if (allowed === 0) return NOT_ALLOWED;
          if (allowed === topics.length) return { result: 'ok' as const };
          // Some refused: granted ones keep their QoS, refused ones get 128 (MQTT 3.1.1) or 135 "not authorised" (MQTT 5).
          const refusedQos = hook === 'auth_on_subscribe' ? 128 : 135;
          const rewritten = granted.map((t) => ({ topic: t.topic, qos: t.allowed ? t.qos : refusedQos }));
          return hook === 'auth_on_subscribe' ? { result: 'ok' as const, topics: rewritten } : { result: 'ok' as const, modifiers: { topics: rewritten } };
        }
        default:
          throw new VigilError('VIGIL_ERR_BAD_REQUEST', `Vigil does not serve the VerneMQ hook "${hook}": register only auth_on_register, auth_on_publish and auth_on_subscribe (and their _m5 forms)`);
      }
    },
  );
}
