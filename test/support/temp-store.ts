import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { openState } from '../../app/state.js';
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

/** A data dir of its own for each test: the state database and the embedded reading store in a temporary dir. */
export interface TempDataDir {
  readonly dir: Awaited<ReturnType<typeof tempDir>>;
  readonly state: ReturnType<typeof openState>;
  readonly store: SqliteStore;
}

/** Opens a fresh TempDataDir before each test and hands it to `opened`; closes and removes it after the test. */
export function useTempDataDirPerTest(opened: (data: TempDataDir) => void): void {
  let data: TempDataDir | undefined;
  beforeEach(async () => {
    const dir = await tempDir();
    data = { dir, state: openState(dir.path), store: new SqliteStore(dir.path) };
    opened(data);
  });
  afterEach(async () => {
    await data?.store.close();
    data?.state.db.close();
    await data?.dir.remove();
  });
}
