import compress from '@fastify/compress';
import helmet from '@fastify/helmet';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { Dashboard } from './dashboard.js';
import { registerErrorHandler } from './routes/error-handler.js';
import { registerOpsRoutes, type OpsSources } from './ops-routes.js';

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
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
  });
  await app.register(websocket, {
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
