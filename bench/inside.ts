/**
 * Where a reading waits, seen from inside Vigil: its own histograms, snapshotted after the warm-up and after the
 * measured load. The bench's publish-to-PUBACK figure includes the load generator and the network; these tell a
 * wait inside Vigil from one outside it, and the group commit's share of it.
 */
import { bucketPercentile, histogramBuckets, type Buckets } from './stats.js';

const FAMILIES = {
  /** From a publish reaching authorizePublish to its PUBACK. */
  puback: 'vigil_mqtt_puback_duration_seconds',
  /** From a publish's append to the outbox to its commit's fdatasync returning. */
  commit: 'vigil_outbox_commit_duration_seconds',
  /** One per batch the shipper wrote to the store. */
  storeWrite: 'vigil_store_write_duration_seconds',
} as const;

export type InsideSnapshot = Record<keyof typeof FAMILIES, Buckets>;

export async function insideSnapshot(httpUrl: string): Promise<InsideSnapshot> {
  const [puback, commit, storeWrite] = await Promise.all(Object.values(FAMILIES).map((name) => histogramBuckets(httpUrl, name)));
  return { puback: puback!, commit: commit!, storeWrite: storeWrite! };
}

/** One line for the bench's progress output; percentiles are the upper bounds of the histograms' buckets. */
export function describeInside(before: InsideSnapshot, after: InsideSnapshot, seconds: number): string {
  const p = (k: keyof InsideSnapshot, q: number) => bucketPercentile(before[k], after[k], q);
  const count = (b: Buckets) => b.get(Number.POSITIVE_INFINITY) ?? 0;
  const writes = count(after.storeWrite) - count(before.storeWrite);
  return (
    `inside Vigil: arrival to PUBACK p50 <= ${p('puback', 50)} ms, p99 <= ${p('puback', 99)} ms; ` +
    `append to commit p50 <= ${p('commit', 50)} ms, p99 <= ${p('commit', 99)} ms; ` +
    `${(writes / seconds).toFixed(1)} store writes/s`
  );
}
