import type { FastifyInstance } from 'fastify';
import type { Registry as MetricsRegistry } from 'prom-client';

export interface ReadinessCheck {
  readonly ok: boolean;
  /** When false, this check failing only degrades the instance (intake still works): it stays ready. */
  readonly required?: boolean;
  readonly [detail: string]: unknown;
}

export interface OpsSources {
  readonly metrics: MetricsRegistry;
  readonly readiness: () => Record<string, ReadinessCheck>;
}

/**
 * /healthz: the process is alive. /readyz: it can take device traffic (broker listening, outbox writable);
 * a store outage shows as "degraded" with the backlog and its age, because readings are still accepted and
 * kept. /metrics: Prometheus text format, with no patient data in any label.
 */
export async function registerOpsRoutes(app: FastifyInstance, sources: OpsSources): Promise<void> {
  app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/readyz', { logLevel: 'warn' }, async (_req, reply) => {
    const checks = sources.readiness();
    const ready = Object.values(checks).every((c) => c.ok || c.required === false);
    const degraded = Object.values(checks).some((c) => !c.ok);
    reply.code(ready ? 200 : 503);
    // Each check says how it stands (`degraded` only when it is), not the policy that weighs it.
    const shown = Object.fromEntries(
      Object.entries(checks).map(([name, { required, ...check }]) => [name, check.ok || required !== false ? check : { ...check, degraded: true }]),
    );
    return { status: ready ? (degraded ? 'degraded' : 'ready') : 'unready', checks: shown };
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_req, reply) => {
    reply.header('content-type', sources.metrics.contentType);
    return sources.metrics.metrics();
  });
}
