import { afterEach, describe, expect, it } from 'vitest';
import { outboxHoldsReadings } from '../lifecycle/index.js';
import { SqliteStore } from '../ingest/index.js';
import { tempDir } from './support/temp.js';
import { startTestVigil } from './support/vigil.js';

/**
 * A clean stop drains the outbox into the store and says so on disk: the checkpoint reaches the end of what was
 * stored. Before, the shipper drained after the outbox had written its last checkpoint, so the next start shipped
 * those readings again, and `vigil worker retire` could not tell an empty outbox from a full one.
 */
describe('stopping Vigil', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('leaves the checkpoint at the end of the readings it drained to the store', async () => {
    const dir = await tempDir();
    cleanups.push(() => dir.remove());
    const t = await startTestVigil({}, dir.path);
    const dev = await t.provision();
    const client = await t.connectDevice(dev);
    const base = Date.now() - 600_000;
    // Batches of 100: thousands acknowledged within moments, more than the shipper stores before the stop.
    const batch = (b: number) => Array.from({ length: 100 }, (_, i) => ({ type: 'heart_rate', time: new Date(base + (b * 100 + i) * 10).toISOString(), value: 60 + (i % 20) }));
    await Promise.all(Array.from({ length: 40 }, (_, b) => client.publishAsync(`rpm/v1/devices/${dev.deviceId}/readings`, JSON.stringify(batch(b)), { qos: 1 })));
    // At once: the acknowledged readings are in the outbox, and the shipper drains them during the stop.
    await t.stop();
    const store = new SqliteStore(dir.path);
    try {
      expect(await store.queryRaw({ patientId: dev.patientId, type: 'heart_rate', from: 0, to: Date.now() })).toHaveLength(4_000);
    } finally {
      await store.close();
    }
    expect(await outboxHoldsReadings(dir.path)).toBe(false);
  });
});
