import { INGEST_MIGRATIONS } from '../ingest/index.js';
import { Registry, REGISTRY_MIGRATIONS } from '../registry/index.js';
import { openStateDb, type StateDb } from '../state/index.js';

/** Opens the state database with every component's migrations; the server and the CLI both start here. */
export function openState(dataDir: string): { db: StateDb; registry: Registry } {
  const db = openStateDb(dataDir, [...REGISTRY_MIGRATIONS, ...INGEST_MIGRATIONS]);
  return { db, registry: new Registry(db) };
}
