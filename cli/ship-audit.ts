import { openSharedAudit, type StateDb } from '../state/index.js';

/** How long a command may spend shipping its audit entries before it exits anyway. */
const SHIPPING_MS = 10_000;

const warn = (err: Error) =>
  process.stderr.write(`vigil: audit entries not shipped to the shared audit log yet (${err.message}); they wait in the data dir and ship with the next command or the server on it\n`);

/**
 * Closes a command's state database; first, with VIGIL_DATABASE_URL, ships the audit entries the command recorded
 * to the shared audit log (docs/architecture.md, "The audit log, shared"), so that they are listed at once whichever
 * instance an administrator asks. A failure to ship does not fail the command: the entries are safe in the data dir.
 */
export async function shipAuditAndClose(db: StateDb, databaseUrl: string | undefined): Promise<void> {
  try {
    if (databaseUrl === undefined) return;
    const shared = await openSharedAudit(db, databaseUrl, { onError: warn, onIdleError: () => undefined });
    await shared.close(SHIPPING_MS);
  } catch (err) {
    warn(err as Error);
  } finally {
    db.close();
  }
}
