import { VigilError } from '../domain/index.js';
import { listenPostgres, openPostgres, redactedUrl } from '../state/index.js';
import { REGISTRY_MIGRATIONS } from './migrations.js';
import type { Registry } from './registry.js';

/** The registry's tables as PostgreSQL applies them: the entries that carry PostgreSQL SQL. */
export const REGISTRY_POSTGRES_MIGRATIONS = REGISTRY_MIGRATIONS.filter((m) => m.postgres !== undefined);

/** The channel the shared registry's triggers notify (registry/migrations.ts). */
const CHANNEL = 'vigil_registry';

export interface SharedRegistryOptions {
  /** VIGIL_DATABASE_URL. */
  readonly url: string;
  /** Erases a patient the shared registry no longer has from this instance's state (ReplicaHooks.erasePatient). */
  readonly erasePatient: (patientId: string) => void;
  /** A replica or liveness write failed, or the listening connection dropped (it reconnects and resyncs). */
  readonly onError: (err: Error) => void;
}

export interface SharedRegistry {
  close(): Promise<void>;
}

/**
 * Moves `registry` onto the shared registry in PostgreSQL: migrates it, makes it where changes are made, and
 * keeps this instance's replica in step: a full sync now (and after every reconnection of the listening
 * connection), and each notified change as it commits. Resolves once the replica is in step.
 */
export async function shareRegistry(registry: Registry, o: SharedRegistryOptions): Promise<SharedRegistry> {
  const postgres = await openPostgres(o.url, REGISTRY_POSTGRES_MIGRATIONS, o.onError);
  const replica = registry.share(postgres, { erasePatient: o.erasePatient, onError: o.onError });
  const listener = listenPostgres(o.url, CHANNEL, {
    notify: (key) => replica.notified(key),
    listening: () => replica.syncAll(),
    error: o.onError,
  });
  const close = async () => {
    await listener.close();
    await replica.close();
    await registry.unshare();
    await postgres.close();
  };
  try {
    await listener.ready;
  } catch (err) {
    await close();
    throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_DATABASE_URL: cannot mirror the shared registry at ${redactedUrl(o.url)}: ${(err as Error).message}`, { cause: err });
  }
  return { close };
}
