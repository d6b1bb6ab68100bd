import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { localAuditTrail, openSharedAudit, type AuditLog, type AuditTrail, type StateDb } from '../state/index.js';

/** How long a clean stop may spend shipping the entries left; the rest ship at the next start. */
const CLOSE_SHIPPING_MS = 5_000;

export interface AuditSharing {
  /** What administrators read as the audit log (the dashboard's /api/audit). */
  readonly trail: AuditTrail;
  close(): Promise<void>;
}

/**
 * With VIGIL_DATABASE_URL, this instance's audit log is shipped to the one every instance shares in PostgreSQL
 * (docs/architecture.md, "The audit log, shared") and read from there; each entry recorded through `audit` nudges
 * the shipper. Metrics: `vigil_audit_unshipped_entries` (waiting here) and `vigil_audit_ship_failures_total`.
 * Without it, the local log is the audit log.
 */
export async function shareAuditLog(db: StateDb, audit: AuditLog, databaseUrl: string | undefined, metrics: Registry, log: Logger): Promise<AuditSharing> {
  if (databaseUrl === undefined) return { trail: localAuditTrail(audit), close: async () => undefined };
  const failures = new Counter({
    name: 'vigil_audit_ship_failures_total',
    help: 'Shipments of audit entries to the shared audit log (PostgreSQL) that failed; the entries wait locally and are shipped again',
    registers: [metrics],
  });
  const shared = await openSharedAudit(db, databaseUrl, {
    onError: (err) => {
      failures.inc();
      log.warn({ err }, 'audit entries not shipped to the shared audit log yet; they wait in the state database and are shipped again');
    },
    onIdleError: (err) => log.warn({ err }, 'an idle PostgreSQL connection failed; the pool replaces it'),
  });
  new Gauge({
    name: 'vigil_audit_unshipped_entries',
    help: "Audit entries recorded by this instance and not yet in the shared audit log (PostgreSQL)",
    registers: [metrics],
    collect() {
      // A scrape racing the stop finds the state database closed: the last value stands.
      if (db.open) this.set(shared.shipper.pending());
    },
  });
  audit.onRecorded(() => shared.shipper.nudge());
  return { trail: shared.trail, close: () => shared.close(CLOSE_SHIPPING_MS) };
}
