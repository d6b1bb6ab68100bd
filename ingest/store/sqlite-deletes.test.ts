import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reading } from '../../test/support/readings.js';
import { tempDir } from '../../test/support/temp.js';
import { READINGS_DB_FILE, SqliteStore } from '../index.js';

const T0 = Date.parse('2026-11-22T00:00:00Z');

/**
 * Retention and erasure delete in the embedded store's writer thread. On the main connection a delete that waits
 * for another writer's lock waited there, synchronously, for up to the busy timeout (5 s): no device was answered
 * meanwhile, and the main thread could not even run the code that would release the lock.
 */
describe('embedded store deletes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: SqliteStore;
  beforeEach(async () => {
    dir = await tempDir();
    store = new SqliteStore(dir.path);
    await store.write(Array.from({ length: 20 }, (_, i) => reading({ patientId: 'erased', time: T0 + i * 60_000, msgId: `e${i}` })));
    await store.write([reading({ patientId: 'kept', time: T0 })]);
  });
  afterEach(async () => {
    await store.close();
    await dir.remove();
  });

  it('an erase waiting for another writer leaves the event loop free, and completes once the lock is released', async () => {
    const other = new Database(join(dir.path, READINGS_DB_FILE));
    other.exec('BEGIN IMMEDIATE');
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    // Released by this thread's own timer: possible only if the erase does not block it.
    const release = setTimeout(() => other.exec('COMMIT'), 200);
    try {
      expect(await store.erasePatient('erased')).toBe(20);
    } finally {
      clearInterval(ticker);
      clearTimeout(release);
      other.close();
    }
    expect(ticks).toBeGreaterThan(0);
    expect(await store.queryRaw({ patientId: 'erased', type: 'blood_pressure', from: 0, to: T0 + 86_400_000 })).toEqual([]);
    expect(await store.queryRaw({ patientId: 'kept', type: 'blood_pressure', from: 0, to: T0 + 86_400_000 })).toHaveLength(1);
  });

  it('leaves nothing of an erased patient legible in the file, not in the pages SQLite freed nor in its log', async () => {
    const marker = 'p-erased-marker-3b1c';
    await store.write(Array.from({ length: 300 }, (_, i) => reading({ patientId: marker, time: T0 + i * 60_000, msgId: `m${i}` })));
    // Others' readings after it, so that its pages are freed inside the file, not cut off its end.
    await store.write(Array.from({ length: 300 }, (_, i) => reading({ patientId: 'zz-kept', time: T0 + i * 60_000, msgId: `k${i}` })));
    expect(await store.erasePatient(marker)).toBe(300);
    const legible = async () => {
      const found: string[] = [];
      for (const file of [READINGS_DB_FILE, `${READINGS_DB_FILE}-wal`]) {
        if (existsSync(join(dir.path, file)) && (await readFile(join(dir.path, file))).includes(marker)) found.push(file);
      }
      return found;
    };
    expect(await legible()).toEqual([]);
    expect(await store.queryRaw({ patientId: 'zz-kept', type: 'blood_pressure', from: 0, to: T0 + 86_400_000 })).toHaveLength(300);
  });

  it('purges a patient\'s readings before a time in bounded batches, type by type', async () => {
    expect(await store.purgeBefore('erased', T0 + 10 * 60_000, 4)).toBe(4);
    expect(await store.purgeBefore('erased', T0 + 10 * 60_000, 100)).toBe(6);
    expect(await store.purgeBefore('erased', T0 + 10 * 60_000, 100)).toBe(0);
    expect(await store.queryRaw({ patientId: 'erased', type: 'blood_pressure', from: 0, to: T0 + 86_400_000 })).toHaveLength(10);
  });
});
