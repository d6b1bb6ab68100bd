import { VigilError } from '../../domain/index.js';
import { listenPostgres, openPostgres, redactedUrl, type Migration, type SqlClient, type StateDb } from '../../state/index.js';
import type { Transitions } from '../lifecycle/transitions.js';
import { ALERTS_MIGRATIONS } from '../migrations.js';
import type { AlertTable } from '../store/alert-table.js';
import { adoptAlerts, adoptedBefore, renumberParkedDeliveries } from './adopt.js';
import { AlertReplica } from './alert-replica.js';
import { sharedLastReadings } from './last-readings.js';
import { adoptRuleSettings, SharedRuleSettings } from './shared-settings.js';
import { sharedWebhookSource, WebhookLeadership } from './webhook-leader.js';
import type { WebhookCursor, WebhookEvents } from '../webhook.js';
import { sharedTransitions } from './shared-transitions.js';
import type { SharedLastReadings } from '../evaluation.js';

export { AlertReplica, type AppliedEvent } from './alert-replica.js';
export { SharedRuleSettings } from './shared-settings.js';

/** The alerts' tables as PostgreSQL applies them. */
export const ALERTS_POSTGRES_MIGRATIONS = ALERTS_MIGRATIONS.filter((m) => m.postgres !== undefined);

/** The channel every shared alert event notifies (alerts/shared/schema.ts). */
const CHANNEL = 'vigil_alerts';

export interface SharedAlertsOptions {
  /** VIGIL_DATABASE_URL. */
  readonly url: string;
  /**
   * What PostgreSQL must hold before the alerts' tables (the registry's: alerts name patients). Applied in this
   * order, each once, whichever instance or component opens the database first.
   */
  readonly before: readonly Migration[];
  /** A catch-up or a listening connection failed (both retry on their own). */
  readonly onError: (err: Error) => void;
  /** This data dir's alerts were copied into the shared ones (first start with the URL). */
  readonly onAdopted?: ((result: { copied: number; skipped: number }) => void) | undefined;
}

export interface SharedAlerts {
  readonly client: SqlClient;
  readonly replica: AlertReplica;
  /** Per-patient overrides and snoozes, changed in PostgreSQL and mirrored here. */
  readonly settings: SharedRuleSettings;
  /** Transitions decided and committed under the alert write lock in PostgreSQL, for evaluation and actions. */
  transitions(table: AlertTable): Transitions;
  readonly lastReadings: SharedLastReadings;
  /** The webhook's events and cursor in PostgreSQL, and whether this instance is the one delivering now. */
  webhook(table: AlertTable): { events: WebhookEvents; cursor: WebhookCursor; delivering: () => Promise<boolean> };
  close(): Promise<void>;
}

/** Whether this state database mirrors shared alerts: then alerts must not change here without the shared database. */
export function mirrorsSharedAlerts(db: StateDb): boolean {
  return db.prepare('SELECT 1 FROM alerts_replica').get() !== undefined;
}

/** This data dir's alerts, as they are now, become its own: it stops mirroring shared alerts. Returns whether it did. */
export function detachSharedAlerts(db: StateDb): boolean {
  return db.prepare('DELETE FROM alerts_replica').run().changes > 0;
}

/**
 * Moves this instance's alerts onto the shared alerts in PostgreSQL: migrates, adopts this data dir's alerts if it
 * mirrors no shared alerts yet (or other ones), catches the replica up with every event, and listens for more.
 * Resolves once the replica is in step.
 */
export async function shareAlerts(db: StateDb, o: SharedAlertsOptions): Promise<SharedAlerts> {
  const postgres = await openPostgres(o.url, [...o.before, ...ALERTS_POSTGRES_MIGRATIONS], o.onError);
  const replica = new AlertReplica(db, postgres.client);
  const settings = new SharedRuleSettings(db, postgres.client, o.onError);
  const leadership = new WebhookLeadership(o.url);
  let listener: ReturnType<typeof listenPostgres> | undefined;
  const close = async () => {
    await leadership.close();
    await listener?.close();
    await replica.close();
    await settings.close();
    await postgres.close();
  };
  try {
    const identity = (await postgres.client.query<{ id: string }>('SELECT id FROM alerts_identity')).rows[0]?.id;
    if (identity === undefined) throw new Error('the shared alerts have no alerts_identity row');
    const mirrored = db.prepare<[], { source_id: string }>('SELECT source_id FROM alerts_replica').get()?.source_id;
    if (mirrored !== identity) {
      // Copied at most once per data dir (a start stopped before the wipe below copies nothing again); the
      // settings first, as adding them again adds nothing: the alerts' copy records the adoption.
      let adopted: Awaited<ReturnType<typeof adoptAlerts>> | undefined;
      if (!(await adoptedBefore(db, postgres.client))) {
        await adoptRuleSettings(db, postgres.client);
        adopted = await adoptAlerts(db, postgres.client, Date.now());
      }
      // From here the local tables are a replica: rebuilt from every shared event, numbered as PostgreSQL numbers them.
      db.transaction(() => {
        // A start that copied nothing (done before) knows no new numbers: its parked deliveries' events are the
        // shared ones it copied then, whose numbers are not kept here; they go.
        renumberParkedDeliveries(db, adopted?.seqs ?? new Map());
        db.prepare('DELETE FROM alert_events').run();
        db.prepare('DELETE FROM alerts').run();
        db.prepare('DELETE FROM alerts_replica').run();
        db.prepare('INSERT INTO alerts_replica (source_id, seq) VALUES (?, 0)').run(identity);
      }).immediate();
      if (adopted) o.onAdopted?.({ copied: adopted.copied, skipped: adopted.skipped });
    }
    listener = listenPostgres(o.url, CHANNEL, {
      // "e:<seq>": an alert event; "r:<patient id>": a patient's overrides or snoozes.
      notify: (payload) => (payload.startsWith('r:') ? settings.notified(payload.slice(2)) : replica.notified()),
      listening: async () => {
        await replica.catchUp();
        await settings.syncAll();
      },
      error: o.onError,
    });
    await listener.ready;
  } catch (err) {
    await close();
    if (err instanceof VigilError) throw err;
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_DATABASE_URL: cannot mirror the shared alerts at ${redactedUrl(o.url)}: ${(err as Error).message}`, { cause: err });
  }
  return {
    client: postgres.client,
    replica,
    settings,
    transitions: (table) => sharedTransitions(table, postgres, replica),
    lastReadings: sharedLastReadings(postgres.client),
    webhook: (table) => ({ ...sharedWebhookSource(postgres.client, table), delivering: () => leadership.delivering() }),
    close,
  };
}
