import { describe, expect, it } from 'vitest';
import { reading } from '../../test/support/readings.js';
import { tempDir } from '../../test/support/temp.js';
import { CommittedTail } from './committed-tail.js';
import { Outbox } from './outbox.js';

const many = (n: number, from = 0) => Array.from({ length: n }, (_, i) => reading({ time: 1_000_000 + from + i, msgId: `m${from + i}` }));
const ids = (records: readonly { msgId?: string | undefined }[]) => records.map((r) => r.msgId);

describe('the committed tail (readings the shipper takes from memory)', () => {
  it('hands out whole commits from exactly where they start, within the batch size', () => {
    const tail = new CommittedTail(100);
    tail.push({ segment: 0, offset: 0 }, { segment: 0, offset: 10 }, many(2));
    tail.push({ segment: 0, offset: 10 }, { segment: 1, offset: 0 }, many(3, 2));
    tail.push({ segment: 1, offset: 0 }, { segment: 1, offset: 7 }, many(1, 5));
    expect(tail.take({ segment: 0, offset: 0 }, 5)).toEqual({ records: many(5), next: { segment: 1, offset: 0 } });
    // Not a commit boundary (the disk was read part way into a commit): the caller reads the disk.
    expect(tail.take({ segment: 0, offset: 4 }, 5)).toBeUndefined();
    expect(tail.take({ segment: 1, offset: 0 }, 5)).toEqual({ records: many(1, 5), next: { segment: 1, offset: 7 } });
  });

  it('forgets the oldest commits beyond its capacity, so a shipper that fell behind reads the disk', () => {
    const tail = new CommittedTail(4);
    tail.push({ segment: 0, offset: 0 }, { segment: 0, offset: 10 }, many(3));
    tail.push({ segment: 0, offset: 10 }, { segment: 0, offset: 20 }, many(3, 3));
    expect(tail.take({ segment: 0, offset: 0 }, 100)).toBeUndefined();
    expect(ids(tail.take({ segment: 0, offset: 10 }, 100)!.records)).toEqual(['m3', 'm4', 'm5']);
  });

  it('gives the shipper the same readings and positions from memory as from the disk', async () => {
    const dir = await tempDir();
    try {
      const writer = await Outbox.open({ dir: dir.path, segmentBytes: 2_000 });
      for (let i = 0; i < 20; i++) await writer.append(many(3, i * 3));
      // From memory (this process committed them) ...
      const fromMemory: string[] = [];
      const positions: unknown[] = [];
      for (let at = writer.checkpoint, n = 0; n < 20; n++) {
        const batch = await writer.read(at, 7);
        if (batch.records.length === 0) break;
        fromMemory.push(...ids(batch.records).map(String));
        positions.push(batch.next);
        at = batch.next;
      }
      await writer.close();
      // ... and from the disk (a new process, nothing in memory).
      const reader = await Outbox.open({ dir: dir.path, segmentBytes: 2_000 });
      const fromDisk: string[] = [];
      let end = reader.checkpoint;
      for (let n = 0; n < 40; n++) {
        const batch = await reader.read(end, 1_000);
        if (batch.records.length === 0) break;
        fromDisk.push(...ids(batch.records).map(String));
        end = batch.next;
      }
      await reader.close();
      expect(fromMemory).toEqual(ids(many(60)));
      expect(fromDisk).toEqual(fromMemory);
      // Both end where the next record will be written: acknowledging either deletes the same segments.
      expect(positions.at(-1)).toEqual(end);
    } finally {
      await dir.remove();
    }
  });
});
