import { REGISTRY_MIGRATIONS, Registry, shareRegistry, type RegistryOptions, type SharedRegistry } from '../../registry/index.js';
import { openStateDb, type StateDb } from '../../state/index.js';
import { postgresForFile } from './postgres.js';
import { tempDir } from './temp.js';

export interface RegistryInstance {
  readonly db: StateDb;
  readonly registry: Registry;
  /** Patients erased here because the shared registry no longer had them (shared backend). */
  readonly erased: string[];
  /** Another registry on the same registry (embedded: the same file; shared: another instance's replica). */
  another(options?: RegistryOptions): Promise<Registry>;
  close(): Promise<void>;
}

export interface RegistryBackend {
  readonly name: 'embedded' | 'shared';
  open(options?: RegistryOptions): Promise<RegistryInstance>;
}

/** Deletes a patient's registry rows from a replica, as the erasure would (the test tables hold nothing else). */
function eraseRows(db: StateDb, id: string): void {
  db.transaction(() => {
    db.prepare('UPDATE devices SET patient_id = NULL, assigned_at = NULL WHERE patient_id = ?').run(id);
    db.prepare('DELETE FROM patient_programmes WHERE patient_id = ?').run(id);
    db.prepare('DELETE FROM patients WHERE id = ?').run(id);
  })();
}

/**
 * A state database with the registry's tables in a temp dir (or `dataDir`), mirroring a shared registry on a real PostgreSQL
 * when `url` is given; `erased` records what the replica erased.
 */
export async function openRegistryInstance(url: string | undefined, options: RegistryOptions = {}, dataDir?: string): Promise<RegistryInstance & { shared?: SharedRegistry }> {
  // A data dir given is the caller's to remove.
  const dir = dataDir === undefined ? await tempDir() : { path: dataDir, remove: async () => undefined };
  const db = openStateDb(dir.path, REGISTRY_MIGRATIONS);
  const registry = new Registry(db, options);
  const erased: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const shared = url
    ? await shareRegistry(registry, {
        url,
        erasePatient: (id) => {
          erased.push(id);
          eraseRows(db, id);
        },
        // A failure here is a bug the test must see, not a retry to wait for.
        onError: (err) => process.stderr.write(`shared registry error: ${err.stack ?? err.message}\n`),
      })
    : undefined;
  return {
    db,
    registry,
    erased,
    shared,
    async another(more = {}) {
      if (!url) return new Registry(db, more);
      const other = await openRegistryInstance(url, more);
      closers.push(() => other.close());
      return other.registry;
    },
    async close() {
      for (const close of closers) await close();
      await shared?.close();
      db.close();
      await dir.remove();
    },
  };
}

/**
 * The registry on its two backends, for `describe.each`: embedded (the state database is the registry), and
 * shared (a new database on a real PostgreSQL that the calling file starts once, this instance mirroring it).
 */
export function registryBackends(): RegistryBackend[] {
  const postgres = postgresForFile('registry');
  return [
    { name: 'embedded', open: (options) => openRegistryInstance(undefined, options) },
    { name: 'shared', open: async (options) => openRegistryInstance(await postgres.database(), options) },
  ];
}
