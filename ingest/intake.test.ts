import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Registry as MetricsRegistry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import type { Reading } from '../domain/index.js';
import { fillDisk, smallTmpfs } from '../test/support/fill-disk.js';
import { tempDir } from '../test/support/temp.js';
import { Intake, type IngestOutcome } from './intake.js';
import { createIngestMetrics } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import { RejectionLog } from './rejection-log.js';

/**
 * The intake answers each message from its group commit's one reaction (ingest/pending-commit.ts): these tests
 * hold it to what a device relies on. A message is answered only once its readings are durable, a duplicate only
 * once its first copy is, and a commit that fails refuses every message waiting for it.
 */
describe('Intake answers from the group commit', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let state: ReturnType<typeof openState>;
  let outbox: Outbox | undefined;

  beforeEach(async () => {
    dir = await tempDir();
    state = openState(dir.path);
  });
  afterEach(async () => {
    await outbox?.close();
    outbox = undefined;
    state.db.close();
    await dir.remove();
  });

  async function intakeOn(outboxDir: string, dedupeWindow?: number) {
    outbox = await Outbox.open({ dir: outboxDir });
    const patient = await state.registry.addPatient({ name: 'Intake Test' });
    const { device } = await state.registry.addDevice({ patientId: patient.id });
    const intake = new Intake({
      registry: state.registry,
      outbox,
      rejections: new RejectionLog(state.db, { onLost: (count, err) => { throw err; } }),
      metrics: createIngestMetrics(new MetricsRegistry()),
      limits: { maxPayloadBytes: 1 << 20, maxBatch: 1000 },
      timing: { futureToleranceMs: 60_000, maxAgeMs: 30 * 86_400_000, lateAfterMs: 3_600_000 },
      dedupeWindow,
    });
    const events: (readonly Reading[])[] = [];
    intake.on('committed', (readings) => events.push(readings));
    return { intake, deviceId: device.id, events };
  }

  const heartRate = (id: string, time = Date.now() - 1_000) => Buffer.from(JSON.stringify({ type: 'heart_rate', time: new Date(time).toISOString(), value: 72, id }));

  /** Sends a message and records the order answers come in; `answer` settles with the outcome or the error. */
  function send(intake: Intake, deviceId: string, payload: Buffer, order: string[], name: string): Promise<IngestOutcome | Error> {
    return new Promise((resolve) =>
      intake.accept(deviceId, payload, 'v1', (result) => {
        order.push(name);
        resolve(result);
      }),
    );
  }

  it('answers the messages of a group commit after it, in order, and tells listeners once per commit', async () => {
    const { intake, deviceId, events } = await intakeOn(join(dir.path, 'outbox'));
    const order: string[] = [];
    const answers = ['a', 'b', 'c', 'd'].map((id) => send(intake, deviceId, heartRate(id), order, id));
    // Nothing is acknowledged before it is durable: not in the same turn, whatever the commit's speed.
    expect(order).toEqual([]);
    const outcomes = await Promise.all(answers);
    expect(outcomes.map((o) => (o instanceof Error ? o.message : o.accepted))).toEqual([1, 1, 1, 1]);
    expect(order).toEqual(['a', 'b', 'c', 'd']);
    // The first append starts a commit at once; the three behind it share the next one.
    expect(events.length).toBeLessThan(4);
    expect(events.flat().map((r) => r.msgId)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('answers a duplicate of a reading still being committed only after that commit, as a duplicate', async () => {
    const { intake, deviceId, events } = await intakeOn(join(dir.path, 'outbox'));
    const order: string[] = [];
    const payload = heartRate('same');
    const first = send(intake, deviceId, payload, order, 'first');
    const again = send(intake, deviceId, payload, order, 'again');
    expect(order).toEqual([]);
    expect(await again).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await first).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(order).toEqual(['first', 'again']);
    expect(events.flat()).toHaveLength(1);
    // Once durable, a resend is answered at once.
    const late: string[] = [];
    void send(intake, deviceId, payload, late, 'later');
    expect(late).toEqual(['later']);
  });

  it('finds a resend of an older reading after newer ones, and takes another type at the same time as new', async () => {
    const { intake, deviceId } = await intakeOn(join(dir.path, 'outbox'));
    const order: string[] = [];
    const base = Date.now() - 60_000;
    for (const [i, offset] of [3, 1, 2].entries()) await send(intake, deviceId, heartRate(`hr${i}`, base + offset * 1000), order, `hr${i}`);
    // Older than the newest reading of the device: looked up in the window, and found.
    expect(await send(intake, deviceId, heartRate('hr1', base + 1000), order, 'again')).toMatchObject({ accepted: 0, duplicates: 1 });
    expect(await send(intake, deviceId, heartRate('hr0', base + 3000), order, 'again')).toMatchObject({ accepted: 0, duplicates: 1 });
    const spo2 = Buffer.from(JSON.stringify({ type: 'spo2', time: new Date(base + 3000).toISOString(), value: 97, id: 'hr0' }));
    expect(await send(intake, deviceId, spo2, order, 'spo2')).toMatchObject({ accepted: 1, duplicates: 0 });
    // A newer reading repeated inside one message is still one reading.
    const twice = Buffer.from(JSON.stringify([0, 1].map(() => ({ type: 'heart_rate', time: new Date(base + 9000).toISOString(), value: 70, id: 'new' }))));
    expect(await send(intake, deviceId, twice, order, 'twice')).toMatchObject({ accepted: 1, duplicates: 1 });
  });

  it('acknowledges a duplicate just inside the window without storing it again, and appends one just outside', async () => {
    // A capacity that 16 does not divide, as a test or a small setting gives: the window holds at least the most
    // recent capacity - ceil(capacity / 16) keys (here 93) at every moment, and never more than capacity (100).
    const { intake, deviceId, events } = await intakeOn(join(dir.path, 'outbox'), 100);
    const order: string[] = [];
    const base = Date.now() - 600_000;
    const reading = (i: number) => heartRate(`r${i}`, base + i * 1000);
    for (let i = 0; i < 250; i++) {
      expect(await send(intake, deviceId, reading(i), order, `r${i}`)).toMatchObject({ accepted: 1, duplicates: 0 });
      // The 93rd most recent reading, resent (older than the device's newest, so looked up): a duplicate.
      if (i >= 92) expect(await send(intake, deviceId, reading(i - 92), order, 'inside'), `r${i - 92} after r${i}`).toMatchObject({ accepted: 0, duplicates: 1 });
    }
    expect(events.flat()).toHaveLength(250);
    // The 101st most recent: beyond any window of 100, appended again (the stores overwrite it: same series, time).
    expect(await send(intake, deviceId, reading(249 - 100), order, 'outside')).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(events.flat().filter((r) => r.msgId === `r${249 - 100}`)).toHaveLength(2);
  });

  it('refuses every message waiting for a failed commit, duplicates too, and takes a resend as new', async (ctx) => {
    const disk = await smallTmpfs('intake disk-full test');
    try {
      if (!disk.mounted) return ctx.skip();
      const { intake, deviceId, events } = await intakeOn(join(disk.path, 'outbox'));
      const order: string[] = [];
      await send(intake, deviceId, heartRate('before'), order, 'before');
      const filler = await fillDisk(disk.path);
      const base = Date.now() - 10_000;
      // Large enough to need a page the full disk cannot give.
      const many = Buffer.from(JSON.stringify(Array.from({ length: 400 }, (_, i) => ({ type: 'heart_rate', time: new Date(base + i).toISOString(), value: 72, id: `m${i}` }))));
      const refused = send(intake, deviceId, many, order, 'many');
      const duplicate = send(intake, deviceId, heartRate('m7', base + 7), order, 'duplicate');
      for (const result of [await refused, await duplicate]) {
        expect(result).toBeInstanceOf(Error);
        expect((result as Error & { code?: string }).code).toBe('VIGIL_ERR_OUTBOX_UNAVAILABLE');
      }
      expect(events.flat().map((r) => r.msgId)).toEqual(['before']);
      await unlink(filler);
      // The device sends it again (it had no PUBACK): not a duplicate of readings that were never durable.
      expect(await send(intake, deviceId, heartRate('m7', base + 7), order, 'resend')).toMatchObject({ accepted: 1, duplicates: 0 });
    } finally {
      await outbox?.close();
      outbox = undefined;
      await disk.remove();
    }
  });
});
