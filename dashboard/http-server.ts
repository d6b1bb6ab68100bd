import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { errorCodeOfStatus } from '../domain/index.js';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { clientErrorHandler } from './client-errors.js';
import type { Dashboard } from './dashboard.js';
import { registerErrorHandler } from './routes/error-handler.js';
import { registerJsonBodyParser } from './routes/json-body-parser.js';
import { registerOpsRoutes, type OpsSources } from './ops-routes.js';
import { webSocketErrorHandler } from './websocket-errors.js';

export interface HttpServerOptions extends OpsSources {
  readonly host: string;
  readonly port: number;
  readonly logger: FastifyBaseLogger;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** MQTT over WebSocket on /mqtt, handled by the gateway. */
  readonly mqttWebSocket?: ((socket: WebSocket, req: IncomingMessage) => void) | undefined;
  readonly maxPayloadBytes: number;
  readonly dashboard: Dashboard;
  /** Routes other components serve on this server (FHIR, Nightscout, broker hooks), registered after the dashboard's. */
  readonly routes?: readonly ((app: FastifyInstance) => Promise<void>)[] | undefined;
  /**
   * Answers, in their own format, the requests Fastify refuses before any route runs (a malformed percent-encoding)
   * for the paths of those routes; true when it answered. Others get the JSON API's error body.
   */
  readonly frameworkErrors?: readonly ((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => boolean)[] | undefined;
  /** Proxies allowed to name the client address: none (false), or their addresses and CIDR ranges. */
  readonly trustProxy?: false | readonly string[] | undefined;
}

/** The one HTTP server of Vigil: operations endpoints, MQTT over WebSocket, the dashboard and its API. */
export async function createHttpServer(options: HttpServerOptions) {
  const app = Fastify({
    // Query strings can hold a patient's name (the worklist search): request logs keep the path only.
    loggerInstance: options.logger.child(
      {},
      { serializers: { req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: req.url.split('?')[0], remoteAddress: req.ip }) } },
    ),
    trustProxy: options.trustProxy ? [...options.trustProxy] : false,
    // Every route validates its own path parameters and answers in its own error format (an OperationOutcome on
    // /fhir); Fastify's default of 100 answered a longer one itself, with a body in neither format. Node's 16 KiB
    // header limit bounds a URL anyway.
    routerOptions: { maxParamLength: 16_384 },
    // Refused by Node's parser before any route: the same {code, message} body as every other refusal.
    clientErrorHandler,
    frameworkErrors: (error, request, res) => {
      const reply = res as FastifyReply;
      for (const answer of options.frameworkErrors ?? []) if (answer(error, request, reply)) return;
      const status = error.statusCode ?? 400;
      void reply.code(status).send({ code: errorCodeOfStatus(status), message: error.message });
    },
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
  });
  // First: every plugin and route registered below inherits the depth-checked JSON parser.
  registerJsonBodyParser(app);
  await app.register(websocket, {
    errorHandler: webSocketErrorHandler,
    options: {
      maxPayload: options.maxPayloadBytes + 1024,
      // mqtt.js asks for the "mqtt" subprotocol; answer with it, as MQTT over WebSocket requires [MQTT-6.0.0-3].
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    },
  });
  await app.register(helmet, {
    // Same-origin everything; the page has no inline script or style. 'self' covers the live WebSocket.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        frameAncestors: ["'none'"],
        formAction: ["'self'"],
        upgradeInsecureRequests: null,
      },
    },
    hsts: options.tls ? { maxAge: 31_536_000 } : false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  // The worklist of a large programme is megabytes of JSON every few seconds: compressed, about a tenth.
  await app.register(compress, { global: true, threshold: 2048, encodings: ['br', 'gzip'] });
  registerErrorHandler(app);
  // The dashboard sets up the zod compilers and the OpenAPI document first: the operations routes are in it too.
  await options.dashboard.register(app);
  for (const register of options.routes ?? []) await register(app);
  await registerOpsRoutes(app, options);
  const mqttWebSocket = options.mqttWebSocket;
  if (mqttWebSocket) {
    // MQTT over WebSocket is the device protocol (docs/device-protocol.md), not part of the JSON API's document.
    app.get('/mqtt', { websocket: true, logLevel: 'warn', schema: { hide: true } }, (socket, req) => mqttWebSocket(socket, req.raw));
  }
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    app,
    port,
    close: () => app.close(),
  };
}

export type HttpServer = Awaited<ReturnType<typeof createHttpServer>>;
