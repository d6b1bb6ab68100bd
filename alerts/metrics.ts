import { Counter, Gauge, type Registry } from 'prom-client';
import { SEVERITIES, type Severity } from './rules/schema.js';

/** What the gauges read when scraped. */
export interface AlertGauges {
  readonly live: () => Record<Severity, number>;
  readonly webhookPending: () => number;
  readonly webhookParked: () => number;
  /** 1 on the instance that delivers the webhook (with shared alerts, one at a time), else 0. */
  readonly webhookDelivering: () => number;
  /** Shared alerts: transitions waiting for PostgreSQL (an outage). */
  readonly transitionsWaiting: () => number;
  /** Shared alerts: findings kept in the data dir until PostgreSQL takes them (this run's and earlier runs'). */
  readonly findingsWaiting: () => number;
  /** Shared alerts: findings whose batch kept failing though PostgreSQL answered, given up to the data dir, since start. */
  readonly findingsGivenUp: () => number;
}

export function createAlertMetrics(registry: Registry, gauges: AlertGauges) {
  const { live, webhookPending, webhookParked } = gauges;
  const registers = [registry];
  new Gauge({
    name: 'vigil_alerts_live',
    help: 'Open and acknowledged (not resolved) alerts, by severity',
    labelNames: ['severity'] as const,
    registers,
    collect() {
      const counts = live();
      for (const s of SEVERITIES) this.set({ severity: s }, counts[s]);
    },
  });
  new Gauge({
    name: 'vigil_alert_webhook_pending',
    help: 'Alert transitions still to be delivered to the webhook (in flight or waiting; not those delivered or parked ahead of one retried); 0 on an instance not delivering it (shared alerts)',
    registers,
    collect() {
      this.set(webhookPending());
    },
  });
  new Gauge({
    name: 'vigil_alert_webhook_parked',
    help: 'Alert transitions the webhook receiver refused (4xx) after every retry, parked for replay',
    registers,
    collect() {
      this.set(webhookParked());
    },
  });
  new Gauge({
    name: 'vigil_alert_webhook_delivering',
    help: 'Whether this instance is the one delivering the alert webhook (1) or not (0); with shared alerts one instance at a time does',
    registers,
    collect() {
      this.set(gauges.webhookDelivering());
    },
  });
  new Gauge({
    name: 'vigil_alert_transitions_waiting',
    help: 'Alert transitions waiting for the shared database (PostgreSQL) to answer',
    registers,
    collect() {
      this.set(gauges.transitionsWaiting());
    },
  });
  new Gauge({
    name: 'vigil_alert_findings_waiting',
    help: 'Findings kept in the data dir until the shared database (PostgreSQL) takes them; they survive a restart',
    registers,
    collect() {
      this.set(gauges.findingsWaiting());
    },
  });
  // Counted by evaluation (each give-up is also logged as an error); the counter follows it when scraped.
  let givenUp = 0;
  new Counter({
    name: 'vigil_alert_findings_given_up_total',
    help: 'Findings whose write to the shared database (PostgreSQL) kept failing, or failed on its own, though it answered; each is kept in the data dir (if it can be) and tried again',
    registers,
    collect() {
      const now = gauges.findingsGivenUp();
      if (now > givenUp) this.inc(now - givenUp);
      givenUp = now;
    },
  });
  return {
    webhookParked: new Counter({ name: 'vigil_alert_webhook_parked_total', help: 'Webhook deliveries parked after the receiver refused them', registers }),
    transitions: new Counter({ name: 'vigil_alert_transitions_total', help: 'Alert transitions, by type', labelNames: ['type'] as const, registers }),
    webhookDelivered: new Counter({ name: 'vigil_alert_webhook_delivered_total', help: 'Alert transitions delivered to the webhook', registers }),
    webhookFailures: new Counter({ name: 'vigil_alert_webhook_failures_total', help: 'Failed webhook deliveries (retried)', registers }),
  };
}
