import { Registry } from 'prom-client';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import type { Reading } from '../domain/index.js';
import { reading } from '../test/support/readings.js';
import { tempDir } from '../test/support/temp.js';
import { DeadLetters } from './dead-letters.js';
import { createIngestMetrics } from './metrics.js';
import { Outbox } from './outbox/outbox.js';
import { Shipper } from './shipper.js';
import { SqliteStore } from './store/index.js';

/**
 * The embedded store answering each write 25 ms later, as a busy InfluxDB does, and counting the batches
 * it is asked to write.
 */
class SlowerStore extends SqliteStore {
  writes = 0;
  override async write(readings: readonly Reading[]): Promise<void> {
    this.writes += 1;
    await new Promise((resolve) => setTimeout(resolve, 25));
    await super.write(readings);
  }
}

const silent = { warn: () => undefined, info: () => undefined, error: () => undefined };

describe('Shipper', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let state: ReturnType<typeof openState>;
  let store: SlowerStore;
  let outbox: Outbox;
  beforeEach(async () => {
    dir = await tempDir();
    state = openState(dir.path);
    store = new SlowerStore(dir.path);
    outbox = await Outbox.open({ dir: `${dir.path}/outbox` });
  });
  afterEach(async () => {
    await outbox.close();
    await store.close();
    state.db.close();
    await dir.remove();
  });

  it('gathers a steady stream of small commits into a store write per linger, not one per commit', async () => {
    const lingerMs = 100;
    const shipper = new Shipper({ outbox, store, deadLetters: new DeadLetters(state.db), metrics: createIngestMetrics(new Registry()), log: silent, lingerMs });
    shipper.start();
    const count = 200;
    const started = performance.now();
    // A reading every few milliseconds, committed as they come, faster than the store answers: the shipper always
    // finds something committed when a write returns, as at a steady moderate rate into InfluxDB.
    const appends: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      appends.push(outbox.append([reading({ type: 'heart_rate', time: 1_700_000_000_000 + i, msgId: `m${i}`, fields: { value: 70 } })]));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(appends);
    const streamedMs = performance.now() - started;
    for (let i = 0; i < 200 && outbox.depth > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    await shipper.stop();
    expect(outbox.depth).toBe(0);
    const stored = await store.queryRaw({ patientId: 'pat-1', type: 'heart_rate', from: 0, to: Number.MAX_SAFE_INTEGER });
    expect(stored).toHaveLength(count);
    // Each store write is a request to InfluxDB (or a commit of the embedded store) and a round of trend rules for
    // every patient in it. Shipped as soon as the last write returned, a stream that never lets the shipper idle
    // costs a write per store round trip, whatever the rate.
    expect(store.writes).toBeLessThanOrEqual(Math.ceil(streamedMs / lingerMs) + 3);
  });
});
