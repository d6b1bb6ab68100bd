import { ALERTS_MIGRATIONS, shareAlerts, type PatientDirectory, type SharedAlerts } from '../alerts/index.js';
import { CARELOOP_MIGRATIONS, type CareDirectory } from '../careloop/index.js';
import type { DashboardDirectory } from '../dashboard/index.js';
import { API_TOKEN_MIGRATIONS, DASHBOARD_MIGRATIONS } from '../dashboard/without-server.js';
import { INGEST_MIGRATIONS } from '../ingest/index.js';
import { eraseReplicatedPatient, LIFECYCLE_MIGRATIONS } from '../lifecycle/index.js';
import { Registry, REGISTRY_MIGRATIONS, REGISTRY_POSTGRES_MIGRATIONS, shareRegistry, type RegistryOptions, type SharedRegistry } from '../registry/index.js';
import { AUDIT_MIGRATIONS, AuditLog, openStateDb, type Migration, type StateDb } from '../state/index.js';

/** Every component's migrations, in the order they apply (lifecycle changes tables the others created). */
export const STATE_MIGRATIONS: readonly Migration[] = [...REGISTRY_MIGRATIONS, ...INGEST_MIGRATIONS, ...ALERTS_MIGRATIONS, ...AUDIT_MIGRATIONS, ...DASHBOARD_MIGRATIONS, ...API_TOKEN_MIGRATIONS, ...CARELOOP_MIGRATIONS, ...LIFECYCLE_MIGRATIONS];

/**
 * Opens the state database with every component's migrations; the server and the CLI both start here.
 * `registry.defaultTimeZone` is VIGIL_DEFAULT_TIME_ZONE, the zone of patients added without one.
 */
export function openState(dataDir: string, registry: RegistryOptions = {}): { db: StateDb; registry: Registry } {
  const db = openStateDb(dataDir, STATE_MIGRATIONS);
  return { db, registry: new Registry(db, registry) };
}

/**
 * With VIGIL_DATABASE_URL, the registry is the shared one in PostgreSQL and the state database mirrors it
 * (registry/shared.ts); resolves once the mirror is in step. `erasePatient` handles a patient erased elsewhere:
 * by default this state database's rows about them go (the server erases its own reading store too).
 */
export async function shareStateRegistry(
  state: { db: StateDb; registry: Registry },
  databaseUrl: string | undefined,
  onError: (err: Error) => void,
  erasePatient?: (patientId: string) => void,
): Promise<SharedRegistry | undefined> {
  if (databaseUrl === undefined) return undefined;
  const audit = new AuditLog(state.db);
  return shareRegistry(state.registry, { url: databaseUrl, onError, erasePatient: erasePatient ?? ((id) => eraseReplicatedPatient(state.db, audit, id)) });
}

/**
 * With VIGIL_DATABASE_URL, alerts and their events are the shared ones in PostgreSQL, mirrored in the state
 * database (alerts/shared); resolves once the mirror is in step. Opened after the shared registry (alerts name
 * its patients).
 */
export async function shareStateAlerts(
  db: StateDb,
  databaseUrl: string | undefined,
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void },
): Promise<SharedAlerts | undefined> {
  if (databaseUrl === undefined) return undefined;
  return shareAlerts(db, {
    url: databaseUrl,
    before: REGISTRY_POSTGRES_MIGRATIONS,
    onError: (err) => log.warn({ err }, 'shared alerts: reading events or the listening connection failed; it retries'),
    onAdopted: (adopted) => log.info(adopted, "this data dir's alerts were copied into the shared alerts"),
  });
}

/** The alerts component's view of the registry and of ingest's rejected readings. */
export function patientDirectory(registry: Registry, rejectionCounts: PatientDirectory['rejectionCounts']): PatientDirectory {
  return {
    patient: (id) => registry.getPatient(id),
    patients: () => registry.listPatients(),
    devices: () => registry.listDevices(),
    device: (id) => registry.getDevice(id),
    rejectionCounts,
  };
}

/** The dashboard's view of the registry. */
export function dashboardDirectory(registry: Registry): DashboardDirectory {
  return {
    patient: (id) => registry.getPatient(id),
    patients: () => registry.listPatients(),
    devices: () => registry.listDevices(),
    setTimeZone: (id, timeZone) => registry.setTimeZone(id, timeZone),
    replicatedChanges: () => registry.replicatedRows,
  };
}

/** The care loop's view of the registry: patients' time zones and their hubs. */
export function careDirectory(registry: Registry): CareDirectory {
  return {
    patient: (id) => registry.getPatient(id),
    hubOf: (patientId) => hubsOf(registry).get(patientId),
    hubs: () => hubsOf(registry),
  };
}

/** Each patient's hub: the first provisioned assigned, unrevoked device of kind hub. */
function hubsOf(registry: Registry): Map<string, string> {
  const hubs = new Map<string, string>();
  for (const d of registry.listDevices()) {
    if (d.kind === 'hub' && d.revokedAt === null && d.patientId !== null && !hubs.has(d.patientId)) hubs.set(d.patientId, d.id);
  }
  return hubs;
}
