import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry as MetricsRegistry } from 'prom-client';
import { BrokerAccess, registerBrokerHooks } from '../gateway/index.js';
import type { Registry } from '../registry/index.js';
import type { AuditLog } from '../state/index.js';
import type { VigilConfig } from './config.js';

/**
 * The EMQX / VerneMQ authentication and authorisation hooks, when worker mode has a hook secret
 * (VIGIL_BROKER_HOOK_SECRET): a route registrar for the HTTP server, or undefined.
 */
export function brokerHookRoutes(
  config: VigilConfig,
  deps: { readonly registry: Registry; readonly metrics: MetricsRegistry; readonly audit: AuditLog; readonly log: Logger },
): ((app: FastifyInstance) => Promise<void>) | undefined {
  const broker = config.broker;
  if (!broker?.hookSecret) return undefined;
  const access = new BrokerAccess({
    devices: deps.registry,
    topicPrefix: config.topicPrefix,
    worker: broker.username ? { username: broker.username, password: broker.password, shareGroup: broker.shareGroup } : undefined,
    failuresPerMinutePerDevice: config.mqtt.authFailuresPerMinutePerDevice,
    failuresPerMinutePerAddress: config.mqtt.authFailuresPerMinutePerAddress,
  });
  return (app) =>
    registerBrokerHooks(app, {
      access,
      secret: broker.hookSecret!,
      metrics: deps.metrics,
      log: deps.log,
      maxPayloadBytes: config.limits.maxPayloadBytes,
      // Someone other than the broker probing the hooks is a security event: recorded (the throttle bounds how often).
      onUnauthorizedCaller: (address, path) => deps.audit.record({ name: 'system:broker-hooks', origin: address }, 'broker_hook.unauthorized', null, path),
    });
}
