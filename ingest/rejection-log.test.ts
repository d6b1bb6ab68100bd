import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStateDb, type StateDb } from '../state/index.js';
import { tempDir } from '../test/support/temp.js';
import { INGEST_MIGRATIONS } from './migrations.js';
import type { Rejection } from './parse-payload.js';
import { RejectionLog, type RejectionLogOptions } from './rejection-log.js';

const T0 = Date.parse('2026-11-22T12:00:00Z');
const bad = (ref: string): Rejection => ({ ref, code: 'VIGIL_ERR_OUT_OF_RANGE', message: 'glucose 5 mg/dL is outside 10-1000 mg/dL', readingType: 'glucose', item: { type: 'glucose', id: ref } });
const whole = (): Rejection => ({ ref: '*', code: 'VIGIL_ERR_NOT_JSON', message: 'payload is not valid UTF-8 JSON' });

/** One publish whose every item was rejected: its payload is kept as published. */
function rejected(log: RejectionLog, deviceId: string, rejections: Rejection[], receivedAt: number, payload = Buffer.from('[]')): void {
  log.record({ deviceId, patientId: deviceId === 'scale-3' ? null : 'p-1', receivedAt, rejections, payload, allRejected: true });
}

describe('RejectionLog', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let db: StateDb;
  let log: RejectionLog;
  const lost: number[] = [];
  const dropped: string[] = [];
  const open = (options: Partial<RejectionLogOptions> = {}) =>
    new RejectionLog(db, { onLost: (count) => lost.push(count), onPayloadDropped: (reason, n) => dropped.push(`${reason}:${n}`), ...options });

  beforeEach(async () => {
    dir = await tempDir();
    db = openStateDb(dir.path, INGEST_MIGRATIONS);
    log = open();
    lost.length = 0;
    dropped.length = 0;
  });
  afterEach(async () => {
    log.close();
    db.close();
    await dir.remove();
  });

  it('counts rejected readings per device from a time on, including those not yet flushed', () => {
    rejected(log, 'cgm-1', [bad('0'), bad('1')], T0 - 60_000);
    rejected(log, 'cgm-1', [bad('a'), bad('b'), bad('c')], T0);
    rejected(log, 'cuff-2', [bad('0')], T0 + 1);
    rejected(log, 'scale-3', [whole()], T0 + 2);
    // Nothing is committed yet (the log flushes on a timer): the answer must not wait for it.
    expect(db.prepare('SELECT COUNT(*) AS n FROM rejections').get()).toEqual({ n: 0 });
    expect(log.countsSince(T0)).toEqual(new Map([['cgm-1', 3], ['cuff-2', 1], ['scale-3', 1]]));
    expect(log.countsSince(T0 - 60_000).get('cgm-1')).toBe(5);
    expect(log.countsSince(T0 + 2)).toEqual(new Map([['scale-3', 1]]));
    expect(log.countsSince(T0 + 3).size).toBe(0);
    expect(lost).toEqual([]);
  });

  it('counts what another writer on the same database committed', () => {
    const other = open();
    rejected(other, 'cgm-1', [bad('0')], T0);
    other.flush();
    expect(log.countsSince(0)).toEqual(new Map([['cgm-1', 1]]));
  });

  it('keeps one row per publish: counts per code and at most 20 examples, however many readings it rejected', () => {
    const many = Array.from({ length: 1000 }, (_, i) => (i % 4 === 0 ? { ...bad(`r${i}`), code: 'VIGIL_ERR_SCHEMA' as const, message: 'x'.repeat(500) } : bad(`r${i}`)));
    rejected(log, 'cgm-1', many, T0, Buffer.from('[1000 items]'));
    const rows = log.recent();
    expect(rows).toHaveLength(1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM rejections').get()).toEqual({ n: 1 });
    expect(rows[0]).toMatchObject({ deviceId: 'cgm-1', rejected: 1000, ref: 'r0', code: 'VIGIL_ERR_SCHEMA', codes: { VIGIL_ERR_SCHEMA: 250, VIGIL_ERR_OUT_OF_RANGE: 750 } });
    expect(rows[0]!.examples).toHaveLength(20);
    expect(rows[0]!.examples[0]!.message.length).toBeLessThanOrEqual(200);
    expect(log.payload(rows[0]!.id)?.toString()).toBe('[1000 items]');
  });

  it('keeps the whole payload when every item was rejected, and only the rejected items when some were accepted', () => {
    rejected(log, 'cgm-1', [bad('a')], T0, Buffer.from('{"type":"glucose","id":"a"}'));
    log.record({ deviceId: 'cgm-1', patientId: 'p-1', receivedAt: T0 + 1, rejections: [bad('b'), bad('c')], payload: Buffer.from('[ok, b, ok, c]'), allRejected: false });
    const [mixed, all] = log.recent();
    expect(all!.payloadNote).toBeNull();
    expect(log.payload(all!.id)?.toString()).toBe('{"type":"glucose","id":"a"}');
    expect(JSON.parse(log.payload(mixed!.id)!.toString())).toEqual([{ type: 'glucose', id: 'b' }, { type: 'glucose', id: 'c' }]);
  });

  it('keeps the other publishes of a flush when one holds an item JSON.stringify cannot write, and that one without its items', () => {
    // An item nested 20,000 levels deep, as JSON.parse takes it: JSON.stringify overflows the stack on it.
    const deep: unknown = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
    log.record({ deviceId: 'cgm-1', patientId: 'p-1', receivedAt: T0, rejections: [{ ...bad('deep'), item: deep }], payload: Buffer.from('[ok, deep]'), allRejected: false });
    rejected(log, 'scale-3', [bad('999')], T0 + 1, Buffer.from('{"type":"weight","id":"999"}'));
    const rows = log.recent();
    expect(lost).toEqual([]);
    expect(rows.map((r) => [r.deviceId, r.ref, r.rejected, r.payloadNote])).toEqual([
      ['scale-3', '999', 1, null],
      ['cgm-1', 'deep', 1, 'unserialisable'],
    ]);
    expect(log.payload(rows[1]!.id)).toBeUndefined();
    expect(dropped).toEqual(['unserialisable:1']);
  });

  it('bounds the payload kept per publish and in all: too large is not kept, and the oldest go first', () => {
    log.close();
    log = open({ maxPayloadBytes: 1000, maxTotalPayloadBytes: 2500 });
    rejected(log, 'cgm-1', [bad('big')], T0, Buffer.alloc(1001, 0x20));
    for (let i = 0; i < 5; i++) rejected(log, 'cgm-1', [bad(String(i))], T0 + 1 + i, Buffer.alloc(1000, 0x30 + i));
    log.flush();
    const rows = log.recent().reverse();
    expect(rows.map((r) => r.payloadNote)).toEqual(['too_large', 'evicted', 'evicted', 'evicted', null, null]);
    expect(rows.map((r) => r.payloadBytes)).toEqual([0, 0, 0, 0, 1000, 1000]);
    expect(log.payload(rows[5]!.id)?.[0]).toBe(0x34);
    expect(dropped).toEqual(['too_large:1', 'evicted:3']);
    // The bound holds across a restart: a new writer counts what is kept.
    log.close();
    log = open({ maxPayloadBytes: 1000, maxTotalPayloadBytes: 2500 });
    rejected(log, 'cgm-1', [bad('next')], T0 + 10, Buffer.alloc(1000, 0x41));
    log.flush();
    expect((db.prepare('SELECT SUM(payload_bytes) AS n FROM rejections WHERE payload IS NOT NULL').get() as { n: number }).n).toBe(2000);
  });

  it('drops rejections older than the retention with their payloads, and keeps the rest', () => {
    for (let i = 0; i < 12_000; i++) {
      rejected(log, 'cuff-1', [bad(String(i))], T0 - 40 * 86_400_000, Buffer.from('[{}]'));
      if (i % 5000 === 0) log.flush();
    }
    rejected(log, 'cuff-1', [bad('recent')], T0);
    expect(log.prune(T0 - 30 * 86_400_000)).toBe(12_000);
    expect(log.recent().map((r) => r.ref)).toEqual(['recent']);
    expect(db.prepare('SELECT COUNT(*) AS n FROM rejections WHERE payload IS NOT NULL').get()).toEqual({ n: 1 });
  });

  it('marks the chosen publishes for replay by id, device, code and time, and only those with a kept payload', () => {
    log.close();
    log = open({ maxPayloadBytes: 10 });
    rejected(log, 'cgm-1', [bad('a')], T0);
    rejected(log, 'cgm-1', [{ ...bad('b'), code: 'VIGIL_ERR_FUTURE_TIME' }], T0 + 1000);
    rejected(log, 'cuff-2', [bad('c'), { ...bad('d'), code: 'VIGIL_ERR_FUTURE_TIME' }], T0 + 2000);
    rejected(log, 'cuff-2', [{ ...bad('e'), code: 'VIGIL_ERR_FUTURE_TIME' }], T0 + 3000, Buffer.alloc(11));
    const ids = log.recent().map((r) => r.id).reverse();
    expect(log.requestReplay({ code: 'VIGIL_ERR_FUTURE_TIME' })).toEqual({ ids: [ids[1], ids[2]], skipped: 1 });
    expect(log.requestReplay({ deviceId: 'cgm-1', until: T0 + 1000 }).ids).toEqual([ids[0]]);
    expect(log.requestReplay({ since: T0 + 2000 }).ids).toEqual([ids[2]]);
    expect(log.requestReplay({ ids: [ids[0]!, ids[3]!] })).toEqual({ ids: [ids[0]], skipped: 1 });
    expect(log.pendingReplays().map((p) => p.id)).toEqual([ids[0], ids[1], ids[2]]);
    log.markReplayed(ids[1]!, { accepted: 1, duplicates: 0, rejected: 0 });
    expect(log.pendingReplays().map((p) => p.id)).toEqual([ids[0], ids[2]]);
    expect(log.recent({ ids: [ids[1]!] })[0]).toMatchObject({ replayResult: { accepted: 1 }, replayedAt: expect.any(Number) });
  });
});
