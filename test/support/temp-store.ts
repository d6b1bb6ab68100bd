import { afterAll, beforeAll } from 'vitest';
import { SqliteStore } from '../../ingest/index.js';
import { tempDir } from './temp.js';

/**
 * An embedded reading store in a temporary dir for one test file: opened before its tests and handed to
 * `opened` (which keeps it, and may seed it), closed and removed after them.
 */
export function useTempSqliteStore(opened: (store: SqliteStore) => void | Promise<void>): void {
  let store: SqliteStore | undefined;
  let remove: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const dir = await tempDir();
    remove = dir.remove;
    store = new SqliteStore(dir.path);
    await opened(store);
  });
  afterAll(async () => {
    await store?.close();
    await remove?.();
  });
}
