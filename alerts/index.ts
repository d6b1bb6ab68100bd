import cron from 'node-cron';
import type { Registry as MetricsRegistry } from 'prom-client';
import { VigilError } from '../domain/index.js';
import { changedElsewhere, type AuditLog, type StateDb } from '../state/index.js';
import { AlertActions } from './actions.js';
import { AlertEvaluation, type EvaluationDeps, type PatientDirectory, type ReadingHistory } from './evaluation.js';
import { AlertFeed } from './feed.js';
import { createAlertMetrics } from './metrics.js';
import { RULE_PRESETS } from './rules/presets.js';
import { RuleResolver } from './rules/resolver.js';
import { SEVERITIES, type Severity } from './rules/schema.js';
import { AlertTable } from './store/alert-table.js';
import { embeddedTransitions } from './lifecycle/transitions.js';
import type { SharedAlerts } from './shared/index.js';
import { RuleSettings } from './store/rule-settings.js';
import { SweepState } from './store/sweep-state.js';
import { WaitingFindings } from './store/waiting-findings.js';
import type { Alert, AlertEvent, AlertFilter } from './types.js';
import { WebhookParking } from './store/webhook-parked.js';
import { WebhookSender } from './webhook.js';
import { secretsOf } from './webhook-signing.js';

export { ALERTS_MIGRATIONS } from './migrations.js';
export { ALERTS_POSTGRES_MIGRATIONS, detachSharedAlerts, mirrorsSharedAlerts, shareAlerts, type SharedAlerts } from './shared/index.js';
export { AlertActions, type OverrideOptions } from './actions.js';
export { AlertFeed } from './feed.js';
/** Read access to stored alerts for tools that only look (the simulator's --verify and load probes). */
export { AlertTable } from './store/alert-table.js';
export type { DirectoryDevice, DirectoryPatient, PatientDirectory, ReadingHistory } from './evaluation.js';
export type { Alert, AlertChange, AlertEvent, AlertEventType, AlertFilter, AlertStatus, RenotifyReason } from './types.js';
export type { StoredOverride, StoredSnooze } from './store/rule-settings.js';
export { DEFAULT_RULE_SET, PROGRAMME_RULE_SETS, findRule } from './rules/catalogue.js';
export { effectiveRules } from './rules/effective.js';
/** One rule with a patient's override applied (reports read the lines the alert uses for that patient). */
export { patientRule } from './rules/patient-rule.js';
/** The home BP protocol, for the home BP report (reports/): the alert and the report average alike. */
export { evaluateHomeBp, homeBpHistoryFrom } from './evaluate/home-bp.js';
export type { HomeBpRule, WeightGainRule } from './rules/trend-rules.js';
export { isTrendRule } from './rules/trend-kind.js';
/** Heart-failure weight gain, for the weight report (reports/): the same mornings, baseline and windows. */
export { evaluateWeightGain, morningWeights, MORNING_FROM, MORNING_TO, weightBaseline, weightGainHistoryFrom, type WeightBaselineSource } from './evaluate/weight-gain.js';
export { SAFETY_FLOORS } from './rules/floors.js';
export { RULE_PRESETS, type RulePreset } from './rules/presets.js';
export { SEVERITIES, ruleSchema, type Rule, type RuleOverride, type Severity } from './rules/schema.js';
export { signature as webhookSignature, standardSignature as standardWebhookSignature } from './webhook-signing.js';
export type { ParkedDelivery } from './store/webhook-parked.js';

export interface AlertsOptions {
  readonly db: StateDb;
  readonly audit: AuditLog;
  readonly history: ReadingHistory;
  readonly directory: PatientDirectory;
  readonly metrics: MetricsRegistry;
  readonly log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; error(obj: object, msg: string): void };
  readonly escalateAfterMinutes: number;
  /** An acknowledged condition that persists notifies again after this many hours (0: never), by severity. */
  readonly realertHours: Readonly<Record<Severity, number>>;
  readonly snoozeMaxHours: number;
  /** A finding measured longer ago than this is late: shown, not paged as if it were happening now. */
  readonly lateAfterMinutes: number;
  /** node-cron expression (with seconds) for the missing-data, device, escalation and reminder sweep. */
  readonly sweepCron: string;
  readonly webhook?: { readonly url: string; readonly secret: string; readonly timeoutMs?: number; readonly concurrency?: number } | undefined;
  /** The clock (tests drive a fake one). */
  readonly now?: () => number;
  /** Patients' monitoring plans (the care loop): what the missing-data rules expect of each patient. */
  readonly plan?: EvaluationDeps['plan'];
  /** Missed doses (the care loop): what the medication-adherence rules read. */
  readonly adherence?: EvaluationDeps['adherence'];
  /** Symptoms reported in check-ins (the care loop): they raise a heart-failure weight-gain alert. */
  readonly symptoms?: EvaluationDeps['symptoms'];
  /** With VIGIL_DATABASE_URL: the shared alerts in PostgreSQL, whose replica the state database holds (alerts/shared). */
  readonly shared?: SharedAlerts | undefined;
  /** Shared alerts: transitions waiting for PostgreSQL in memory at most (10,000 unless given; tests lower it). */
  readonly maxWaiting?: number | undefined;
  /** Shared alerts: how long a finding given up waits before it is tried again (30 s unless given; tests shorten it). */
  readonly givenUpRetryMs?: number | undefined;
}

/** What the dashboard and the CLI read of alerts and rules. */
export interface AlertQueries {
  list(filter?: AlertFilter): Alert[];
  get(alertId: number): { alert: Alert; events: AlertEvent[] } | undefined;
  rulesFor(patientId: string): ReturnType<RuleResolver['rulesFor']>;
  overridesOf(patientId: string): ReturnType<RuleSettings['overrides']>;
  snoozesOf(patientId: string): ReturnType<RuleSettings['snoozes']>;
  presets(): typeof RULE_PRESETS;
  /** The patients with a preset's override in force now (the risk score scores SpO2 on scale 2 for one). */
  patientsWithPreset(presetId: string): ReadonlySet<string>;
  liveCounts(): Record<Severity, number>;
  /** Bounds a client should offer within (the server enforces them in any case). */
  limits(): { snoozeMaxHours: number };
}

/** A patient's rule overrides in force at `now`, read from the state database (the CLI's reports). */
export function patientOverrides(db: StateDb, patientId: string, now: number): ReturnType<RuleSettings['overrides']> {
  return new RuleSettings(db).overrides(patientId, now);
}

export type Alerts = Awaited<ReturnType<typeof createAlerts>>;

export type AlertsCoreOptions = Pick<
  AlertsOptions,
  'db' | 'audit' | 'history' | 'directory' | 'log' | 'escalateAfterMinutes' | 'realertHours' | 'snoozeMaxHours' | 'lateAfterMinutes' | 'now' | 'plan' | 'adherence' | 'symptoms' | 'shared' | 'maxWaiting' | 'givenUpRetryMs'
>;

/**
 * The alerts component without its schedule: evaluation, actions, feed and queries on the state database.
 * The CLI acts through this (the running server's poll then emits what it wrote); the server adds the sweep,
 * the poll and the webhook in createAlerts.
 */
export function openAlertsCore(options: AlertsCoreOptions) {
  const now = options.now ?? Date.now;
  const table = new AlertTable(options.db);
  const transitions = options.shared ? options.shared.transitions(table) : embeddedTransitions(table);
  const settings = new RuleSettings(options.db);
  const sweepState = new SweepState(options.db);
  const resolver = new RuleResolver((id) => options.directory.patient(id), settings, now, changedElsewhere(options.db, 50));
  // Resolutions made elsewhere (a person, the CLI) end the alert's life in evaluation too.
  const feed = new AlertFeed(table, (event) => evaluation.forget(event.alert.patientId, event.alert.ruleId, event.alert.subject));
  const hours = (h: number) => h * 3_600_000;
  const evaluation = new AlertEvaluation({
    table,
    transitions,
    sharedLastReadings: options.shared?.lastReadings,
    sharedSettings: options.shared?.settings,
    settings,
    resolver,
    sweepState,
    waitingFindings: options.shared ? new WaitingFindings(options.db) : undefined,
    feed,
    audit: options.audit,
    history: options.history,
    directory: options.directory,
    policy: {
      escalateAfterMs: options.escalateAfterMinutes * 60_000,
      maxEscalationLevel: 3,
      realertMs: { critical: hours(options.realertHours.critical), warning: hours(options.realertHours.warning), info: hours(options.realertHours.info) },
    },
    log: options.log,
    lateAfterMs: options.lateAfterMinutes * 60_000,
    now,
    plan: options.plan,
    adherence: options.adherence,
    symptoms: options.symptoms,
    maxWaiting: options.maxWaiting,
    givenUpRetryMs: options.givenUpRetryMs,
  });
  const actions = new AlertActions({ table, transitions, sharedSettings: options.shared?.settings, settings, resolver, feed, audit: options.audit, directory: options.directory, maxSnoozeMs: hours(options.snoozeMaxHours), now });
  const liveCounts = (): Record<Severity, number> => {
    const counts = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
    for (const row of table.countLive()) counts[row.severity] = row.n;
    return counts;
  };
  const queries: AlertQueries = {
    list: (filter) => table.list(filter),
    get: (alertId) => {
      const alert = table.get(alertId);
      return alert ? { alert, events: table.eventsOf(alertId) } : undefined;
    },
    rulesFor: (patientId) => resolver.rulesFor(patientId),
    overridesOf: (patientId) => settings.overrides(patientId, now()),
    snoozesOf: (patientId) => settings.snoozes(patientId, now()),
    presets: () => RULE_PRESETS,
    patientsWithPreset: (presetId) => settings.patientsWithPreset(presetId, now()),
    liveCounts,
    limits: () => ({ snoozeMaxHours: options.snoozeMaxHours }),
  };
  const parking = new WebhookParking(options.db);
  // Overrides and snoozes changed on any instance: rules are resolved again for that patient.
  options.shared?.settings.onChanged((patientId) => resolver.invalidate(patientId));
  // Every instance's transitions reach this one through the replica: evaluation learns what is live, the feed emits.
  options.shared?.replica.attach({
    applied: (events) => {
      for (const event of events) evaluation.noteApplied(event.type, event.alert);
      feed.drain();
    },
    onError: (err) => options.log.warn({ err }, 'shared alert events could not be read; trying again'),
  });
  return { table, sweepState, parking, evaluation, actions, feed, queries };
}

/**
 * Builds the alerts component: evaluation (on readings, on stored batches, on the sweep), actions
 * (acknowledge, resolve, snooze, override), the event feed (drain, replay), read queries, the scheduled sweep
 * (node-cron), the poll that picks up transitions made by the CLI, and the outgoing webhook.
 */
export async function createAlerts(options: AlertsOptions) {
  if (!cron.validate(options.sweepCron)) {
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_ALERT_SWEEP_CRON: "${options.sweepCron}" is not a cron expression`);
  }
  const { table, sweepState, parking, evaluation, actions, feed, queries } = openAlertsCore(options);
  evaluation.resumeWaitingFindings();
  // Shared alerts: one instance at a time delivers, from PostgreSQL's events and cursor.
  const source = options.shared?.webhook(table) ?? { events: table, cursor: sweepState, delivering: undefined };
  const webhook = options.webhook
    ? new WebhookSender({
        url: options.webhook.url,
        secrets: secretsOf(options.webhook.secret),
        timeoutMs: options.webhook.timeoutMs,
        concurrency: options.webhook.concurrency,
        table: source.events,
        cursor: source.cursor,
        delivering: source.delivering,
        parking,
        log: options.log,
        onDelivered: () => metrics.webhookDelivered.inc(),
        onFailed: () => metrics.webhookFailures.inc(),
        onParked: () => metrics.webhookParked.inc(),
        now: options.now,
      })
    : undefined;
  const metrics = createAlertMetrics(options.metrics, {
    live: queries.liveCounts,
    webhookPending: () => webhook?.pending() ?? 0,
    webhookParked: () => parking.count(),
    webhookDelivering: () => (webhook?.delivering ? 1 : 0),
    transitionsWaiting: () => evaluation.waiting(),
    findingsWaiting: () => evaluation.findingsWaiting(),
    findingsGivenUp: () => evaluation.findingsGivenUp(),
  });
  feed.on('event', (event) => {
    metrics.transitions.inc({ type: event.type });
    webhook?.nudge();
  });
  const runSweep = async () => {
    try {
      await evaluation.sweep();
    } catch (err) {
      options.log.error({ err }, 'alert sweep failed');
    }
  };
  const task = cron.schedule(options.sweepCron, runSweep, { name: 'vigil-alert-sweep', noOverlap: true });
  const poll = setInterval(() => {
    try {
      feed.drain();
    } catch (err) {
      options.log.warn({ err }, 'alert event poll failed');
    }
  }, 1000);
  poll.unref();
  webhook?.start();

  return {
    evaluation: {
      onCommitted: (readings: Parameters<AlertEvaluation['onCommitted']>[0]) => evaluation.onCommitted(readings),
      onStored: (readings: Parameters<AlertEvaluation['onStored']>[0]) => evaluation.onStored(readings),
      onDosesMissed: (patientIds: readonly string[]) => evaluation.onDosesMissed(patientIds),
      /** A check-in answered: weight-gain rules look again at the latest weight (a symptom may raise them). */
      onSymptoms: (patientId: string) => evaluation.onSymptoms(patientId),
      sweep: runSweep,
    },
    actions,
    feed,
    queries,
    /** Webhook deliveries the receiver refused, parked; replay asks the sender to try them again. */
    parked: {
      list: () => parking.list(),
      replay: (seq?: number) => parking.requestReplay(seq),
    },
    async close(): Promise<void> {
      await task.stop();
      await task.destroy();
      clearInterval(poll);
      await evaluation.close();
      await webhook?.stop();
    },
  };
}
