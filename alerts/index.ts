import cron from 'node-cron';
import type { Registry as MetricsRegistry } from 'prom-client';
import { VigilError } from '../domain/index.js';
import type { StateDb } from '../state/index.js';
import { AlertStore } from './alert-store.js';
import { AlertEngine, type PatientDirectory, type ReadingHistory } from './engine.js';
import { createAlertMetrics } from './metrics.js';
import { WebhookSender } from './webhook.js';

export { ALERTS_MIGRATIONS } from './migrations.js';
export { AlertEngine, type PatientDirectory, type ReadingHistory } from './engine.js';
export { AlertStore, actorName, type Actor, type AuditEntry, type AuditFilter, type Alert, type AlertEvent, type AlertEventType, type AlertFilter, type AlertStatus } from './alert-store.js';
export { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS, PROGRAMME_RULE_OVERRIDES, findRule } from './rules/catalogue.js';
export { effectiveRules } from './rules/effective.js';
export { SEVERITIES, ruleSchema, type Rule, type RuleOverride, type Severity } from './rules/schema.js';
export { signature as webhookSignature } from './webhook.js';

export interface AlertsOptions {
  readonly db: StateDb;
  readonly history: ReadingHistory;
  readonly directory: PatientDirectory;
  readonly metrics: MetricsRegistry;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly escalateAfterMinutes: number;
  /** node-cron expression (with seconds) for the missing-data, device and escalation sweep. */
  readonly sweepCron: string;
  readonly webhook?: { readonly url: string; readonly secret: string; readonly timeoutMs?: number } | undefined;
}

export type Alerts = Awaited<ReturnType<typeof createAlerts>>;

/**
 * Builds the alerts component: the engine, its scheduled sweep (node-cron), the poll that picks up
 * transitions made by the CLI, and the outgoing webhook.
 */
export async function createAlerts(options: AlertsOptions) {
  if (!cron.validate(options.sweepCron)) {
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_ALERT_SWEEP_CRON: "${options.sweepCron}" is not a cron expression`);
  }
  const store = new AlertStore(options.db);
  const engine = new AlertEngine({
    store,
    history: options.history,
    directory: options.directory,
    log: options.log,
    escalateAfterMs: options.escalateAfterMinutes * 60_000,
  });
  const webhook = options.webhook
    ? new WebhookSender({
        ...options.webhook,
        store,
        log: options.log,
        onDelivered: () => metrics.webhookDelivered.inc(),
        onFailed: () => metrics.webhookFailures.inc(),
      })
    : undefined;
  const metrics = createAlertMetrics(options.metrics, () => engine.liveCounts(), () => webhook?.pending() ?? 0);
  engine.on('event', (event) => {
    metrics.transitions.inc({ type: event.type });
    webhook?.nudge();
  });
  const runSweep = () => {
    try {
      engine.sweep();
    } catch (err) {
      options.log.error({ err: (err as Error).message }, 'alert sweep failed');
    }
  };
  const task = cron.schedule(options.sweepCron, runSweep, { name: 'vigil-alert-sweep', noOverlap: true });
  const poll = setInterval(() => {
    try {
      engine.poll();
    } catch (err) {
      options.log.warn({ err: (err as Error).message }, 'alert event poll failed');
    }
  }, 1000);
  poll.unref();
  webhook?.start();

  return {
    engine,
    store,
    sweepNow: runSweep,
    async close(): Promise<void> {
      await task.stop();
      await task.destroy();
      clearInterval(poll);
      await engine.close();
      await webhook?.stop();
    },
  };
}
