import websocket from '@fastify/websocket';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { AlertEngine } from '../alerts/index.js';
import { adminAuth } from './api/admin-auth.js';
import { registerAlertRoutes } from './api/alerts-routes.js';
import { registerErrorHandler } from './api/error-handler.js';
import { registerOpsRoutes, type OpsSources } from './ops-routes.js';

export interface HttpServerOptions extends OpsSources {
  readonly host: string;
  readonly port: number;
  readonly logger: FastifyBaseLogger;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer } | undefined;
  /** MQTT over WebSocket on /mqtt, handled by the gateway. */
  readonly mqttWebSocket?: ((socket: WebSocket, req: IncomingMessage) => void) | undefined;
  readonly maxPayloadBytes: number;
  readonly alerts: AlertEngine;
  readonly adminToken: string | undefined;
}

/** The one HTTP server of Vigil: operations endpoints, MQTT over WebSocket, and (later) the dashboard and API. */
export async function createHttpServer(options: HttpServerOptions) {
  const app = Fastify({
    loggerInstance: options.logger,
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
  });
  await app.register(websocket, {
    options: {
      maxPayload: options.maxPayloadBytes + 1024,
      // mqtt.js asks for the "mqtt" subprotocol; answer with it, as MQTT over WebSocket requires [MQTT-6.0.0-3].
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : protocols.has('mqttv3.1') ? 'mqttv3.1' : false),
    },
  });
  registerErrorHandler(app);
  await registerOpsRoutes(app, options);
  await app.register(async (api) => {
    api.addHook('onRequest', adminAuth(options.adminToken));
    await registerAlertRoutes(api, options.alerts);
  });
  const mqttWebSocket = options.mqttWebSocket;
  if (mqttWebSocket) {
    app.get('/mqtt', { websocket: true, logLevel: 'warn' }, (socket, req) => mqttWebSocket(socket, req.raw));
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
