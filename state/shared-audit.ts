import { AUDIT_MIGRATIONS } from './audit-migrations.js';
import { AuditShipper, type AuditShipperOptions } from './audit-shipper.js';
import { sharedAuditTrail, type AuditTrail } from './audit-trail.js';
import type { StateDb } from './database.js';
import { openPostgres } from './postgres.js';

export interface SharedAudit {
  readonly shipper: AuditShipper;
  readonly trail: AuditTrail;
  /** Ships what is left (for at most `timeoutMs`), then closes the connections. */
  close(timeoutMs: number): Promise<void>;
}

/**
 * The audit log shared by every instance in PostgreSQL (VIGIL_DATABASE_URL): migrates its table, starts this state
 * database's shipper, and reads the shared log. `onIdleError`: a pooled connection dropped while idle.
 */
export async function openSharedAudit(db: StateDb, url: string, options: AuditShipperOptions & { onIdleError?: (err: Error) => void }): Promise<SharedAudit> {
  const postgres = await openPostgres(url, AUDIT_MIGRATIONS, options.onIdleError ?? options.onError);
  let shipper: AuditShipper;
  try {
    shipper = await AuditShipper.start(db, postgres.client, options);
  } catch (err) {
    await postgres.close();
    throw err;
  }
  return {
    shipper,
    trail: sharedAuditTrail(postgres.client, () => shipper.ship()),
    async close(timeoutMs) {
      await shipper.close(timeoutMs);
      await postgres.close();
    },
  };
}
