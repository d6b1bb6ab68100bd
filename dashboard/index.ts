export { createHttpServer, type HttpServer, type HttpServerOptions } from './http-server.js';
export type { ReadinessCheck } from './ops-routes.js';
