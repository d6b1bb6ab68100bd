import { openSharedAudit, type SharedAudit, type StateDb } from '../state/index.js';

/** How long a command may spend shipping its audit entries before it exits anyway. */
const SHIPPING_MS = 10_000;

const warn = (err: Error) =>
  process.stderr.write(`vigil: audit entries not shipped to the shared audit log yet (${err.message}); they wait in the data dir and ship with the next command or the server on it\n`);

/** With VIGIL_DATABASE_URL, the shared audit log (docs/architecture.md, "The audit log, shared") for a command. */
export async function openCliAudit(db: StateDb, databaseUrl: string | undefined): Promise<SharedAudit | undefined> {
  if (databaseUrl === undefined) return undefined;
  return openSharedAudit(db, databaseUrl, { onError: warn, onIdleError: () => undefined });
}

/**
 * Closes a command's state database; first ships the audit entries the command recorded to the shared audit log,
 * so that they are listed at once whichever instance an administrator asks. A failure to ship does not fail the
 * command: the entries are safe in the data dir.
 */
export async function closeCliAudit(db: StateDb, shared: SharedAudit | undefined): Promise<void> {
  try {
    await shared?.close(SHIPPING_MS);
  } finally {
    db.close();
  }
}

/** closeCliAudit for a command that does not read the shared log: opens it (with VIGIL_DATABASE_URL) to ship. */
export async function shipAuditAndClose(db: StateDb, databaseUrl: string | undefined): Promise<void> {
  let shared: SharedAudit | undefined;
  try {
    shared = await openCliAudit(db, databaseUrl);
  } catch (err) {
    warn(err as Error);
  }
  await closeCliAudit(db, shared);
}
