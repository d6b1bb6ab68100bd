import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Registry as MetricsRegistry } from 'prom-client';
import { z } from 'zod';
import { responses } from './routes/responses.js';

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

const readiness = z.object({
  status: z.enum(['ready', 'degraded', 'unready']),
  checks: z.record(
    z.string(),
    z.looseObject({ ok: z.boolean(), degraded: z.boolean().optional().describe('failing, but intake still works') }).describe('one check, with the details it reports'),
  ),
});

/**
 * /healthz: the process is alive. /readyz: it can take device traffic (broker listening, outbox writable);
 * a store outage shows as "degraded" with the backlog and its age, because readings are still accepted and
 * kept. /metrics: Prometheus text format, with no patient data in any label.
 */
export async function registerOpsRoutes(app: FastifyInstance, sources: OpsSources): Promise<void> {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const health = { tags: ['operations'], summary: 'The process is alive', response: responses({ 200: z.object({ status: z.literal('ok') }) }) };
  api.get('/healthz', { logLevel: 'warn', schema: health }, async () => ({ status: 'ok' as const }));

  const ready = {
    tags: ['operations'],
    summary: 'Whether the instance takes device traffic (503 when it does not)',
    response: responses({ 200: readiness, 503: readiness }),
  };
  api.get('/readyz', { logLevel: 'warn', schema: ready }, async (_req, reply) => {
    const checks = sources.readiness();
    const ready = Object.values(checks).every((c) => c.ok || c.required === false);
    const degraded = Object.values(checks).some((c) => !c.ok);
    reply.code(ready ? 200 : 503);
    // Each check says how it stands (`degraded` only when it is), not the policy that weighs it.
    const shown = Object.fromEntries(
      Object.entries(checks).map(([name, { required, ...check }]) => [name, check.ok || required !== false ? check : { ...check, degraded: true }]),
    );
    return { status: ready ? (degraded ? ('degraded' as const) : ('ready' as const)) : ('unready' as const), checks: shown };
  });

  const text = { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } };
  const metricName = z.string().regex(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/).max(200);
  const metricsQuery = z.object({
    name: z.union([metricName, z.array(metricName).max(50)]).optional().describe('only these metric families (repeatable); a name Vigil does not have is left out'),
  });
  api.get(
    '/metrics',
    { logLevel: 'warn', schema: { tags: ['operations'], summary: 'Prometheus metrics', querystring: metricsQuery, response: responses({ 200: text }, 400) } },
    async (request, reply) => {
      reply.header('content-type', sources.metrics.contentType);
      const { name } = request.query;
      if (name === undefined) return sources.metrics.metrics();
      // A poller that follows one counter (a dashboard, a test, the bench's stored counter every 50 ms) should not
      // pay for collecting every family: the whole exposition costs milliseconds of the main thread each time.
      const names = (Array.isArray(name) ? name : [name]).filter((n) => sources.metrics.getSingleMetric(n) !== undefined);
      const parts = await Promise.all(names.map((n) => sources.metrics.getSingleMetricAsString(n)));
      return parts.map((p) => `${p}\n`).join('');
    },
  );
}
