import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateDb, type StateDb } from '../state/index.js';
import { tempDir } from '../test/support/temp.js';
import { INGEST_MIGRATIONS } from './migrations.js';
import type { Rejection } from './parse-payload.js';
import { RejectionLog } from './rejection-log.js';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const bad = (ref: string): Rejection => ({ ref, code: 'VIGIL_ERR_OUT_OF_RANGE', message: 'glucose 5 mg/dL is outside 10-1000 mg/dL', readingType: 'glucose' });

describe('RejectionLog.countsSince', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: StateDb;
  let log: RejectionLog;
  const lost: number[] = [];

  beforeEach(async () => {
    dir = await tempDir();
    db = openStateDb(dir.path, INGEST_MIGRATIONS);
    log = new RejectionLog(db, { onLost: (count) => lost.push(count) });
  });
  afterEach(async () => {
    log.close();
    db.close();
    await dir.remove();
  });

  it('counts rejected readings per device from a time on, including those not yet flushed', () => {
    log.record('cgm-1', 'p-1', [bad('0'), bad('1')], T0 - 60_000);
    log.record('cgm-1', 'p-1', [bad('a'), bad('b'), bad('c')], T0);
    log.record('cuff-2', 'p-2', [bad('0')], T0 + 1);
    log.record('scale-3', null, [{ ref: '*', code: 'VIGIL_ERR_NOT_JSON', message: 'payload is not valid UTF-8 JSON' }], T0 + 2);
    // Nothing is committed yet (the log flushes on a timer): the answer must not wait for it.
    expect(db.prepare('SELECT COUNT(*) AS n FROM rejections').get()).toEqual({ n: 0 });
    expect(log.countsSince(T0)).toEqual(new Map([['cgm-1', 3], ['cuff-2', 1], ['scale-3', 1]]));
    expect(log.countsSince(T0 - 60_000).get('cgm-1')).toBe(5);
    expect(log.countsSince(T0 + 2)).toEqual(new Map([['scale-3', 1]]));
    expect(log.countsSince(T0 + 3).size).toBe(0);
    expect(lost).toEqual([]);
  });

  it('counts what another writer on the same database committed', () => {
    const other = new RejectionLog(db, { onLost: () => undefined });
    other.record('cgm-1', 'p-1', [bad('0')], T0);
    other.flush();
    expect(log.countsSince(0)).toEqual(new Map([['cgm-1', 1]]));
  });
});

describe('RejectionLog.prune', () => {
  it('drops rejections older than the retention and keeps the rest', async () => {
    const dir = await tempDir();
    const db = openStateDb(dir.path, INGEST_MIGRATIONS);
    const log = new RejectionLog(db, { onLost: () => undefined });
    try {
      log.record('cuff-1', 'p-1', Array.from({ length: 12_000 }, (_, i) => bad(String(i))), T0 - 40 * 86_400_000);
      log.record('cuff-1', 'p-1', [bad('recent')], T0);
      expect(log.prune(T0 - 30 * 86_400_000)).toBe(12_000);
      expect(log.recent().map((r) => r.ref)).toEqual(['recent']);
    } finally {
      log.close();
      db.close();
      await dir.remove();
    }
  });
});
