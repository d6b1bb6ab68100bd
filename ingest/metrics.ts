import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HotPathHistogram } from '../domain/index.js';

export type IngestMetrics = ReturnType<typeof createIngestMetrics>;

/** The ingest path's Prometheus metrics (docs/operations.md lists them). */
export function createIngestMetrics(registry: Registry) {
  const registers = [registry];
  /**
   * Accepted readings by type not yet added to the counter: counted on the hot path as plain numbers and added
   * when the counter is read (a scrape), since a labelled inc() left about 150 bytes of garbage per reading.
   */
  const acceptedUncollected = new Map<string, number>();
  const outboxCommitSeconds = new HotPathHistogram({
    name: 'vigil_outbox_commit_duration_seconds',
    help: 'Time from handing readings to the outbox to their fdatasync completing',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers,
  });
  return {
    accepted: new Counter({
      name: 'vigil_readings_accepted_total',
      help: 'Readings validated and committed to the outbox, by type',
      labelNames: ['type'] as const,
      registers,
      collect() {
        for (const [type, count] of acceptedUncollected) this.inc({ type }, count);
        acceptedUncollected.clear();
      },
    }),
    /** One accepted reading of this type, for vigil_readings_accepted_total. */
    countAccepted(type: string): void {
      acceptedUncollected.set(type, (acceptedUncollected.get(type) ?? 0) + 1);
    },
    rejected: new Counter({
      name: 'vigil_readings_rejected_total',
      help: 'Readings rejected, by error code',
      labelNames: ['code'] as const,
      registers,
    }),
    duplicates: new Counter({
      name: 'vigil_readings_duplicate_total',
      help: 'Readings received again (same device, type, time and id) and stored once',
      registers,
    }),
    late: new Counter({
      name: 'vigil_readings_late_total',
      help: 'Accepted readings that arrived late (store-and-forward backlog)',
      registers,
    }),
    stored: new Counter({ name: 'vigil_readings_stored_total', help: 'Readings written to the reading store', registers }),
    deadLettered: new Counter({
      name: 'vigil_readings_dead_lettered_total',
      help: 'Readings the reading store refused (4xx), kept in the dead-letter table',
      registers,
    }),
    storeWriteSeconds: new Histogram({
      name: 'vigil_store_write_duration_seconds',
      help: 'Duration of successful batch writes to the reading store',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    storeWriteFailures: new Counter({
      name: 'vigil_store_write_failures_total',
      help: 'Failed batch writes to the reading store, by kind (unavailable is retried)',
      labelNames: ['kind'] as const,
      registers,
    }),
    outboxCommitSeconds,
    outboxCommitFailures: new Counter({
      name: 'vigil_outbox_commit_failures_total',
      help: 'Outbox commits that failed (disk full, read-only); their messages were not acknowledged',
      registers,
    }),
    rejectionsUnrecorded: new Counter({
      name: 'vigil_rejections_unrecorded_total',
      help: 'Rejections that could not be written to the rejection log (counted and logged instead)',
      registers,
    }),
    rejectionPayloadsDropped: new Counter({
      name: 'vigil_rejection_payloads_dropped_total',
      help: 'Rejected publishes whose payload is not kept for replay: too_large, backlog (a storm), evicted (the total bound), unserialisable (items nested too deep to write)',
      labelNames: ['reason'] as const,
      registers,
    }),
  };
}

/** Gauges computed when Prometheus scrapes, so they are never stale. */
export function registerOutboxGauges(
  registry: Registry,
  read: { depth(): number; oldestAgeSeconds(): number; writable(): boolean; quarantined(): number },
): void {
  const registers = [registry];
  new Gauge({
    name: 'vigil_outbox_depth',
    help: 'Readings committed but not yet stored',
    registers,
    collect() {
      this.set(read.depth());
    },
  });
  new Gauge({
    name: 'vigil_outbox_oldest_age_seconds',
    help: 'Age of the oldest reading not yet stored (0 when the outbox is drained)',
    registers,
    collect() {
      this.set(read.oldestAgeSeconds());
    },
  });
  new Gauge({
    name: 'vigil_outbox_writable',
    help: '1 when the last outbox commit succeeded, 0 while the outbox cannot be written',
    registers,
    collect() {
      this.set(read.writable() ? 1 : 0);
    },
  });
  new Gauge({
    name: 'vigil_outbox_quarantined_records',
    help: 'Damaged outbox records set aside in outbox/quarantine (0 unless the disk corrupted something)',
    registers,
    collect() {
      this.set(read.quarantined());
    },
  });
}

/** The clock-skew estimate (clock-skew.ts), computed when Prometheus scrapes. */
export function registerClockSkewGauges(registry: Registry, estimate: () => { skewSeconds: number; devicesAhead: number }): void {
  const registers = [registry];
  new Gauge({
    name: 'vigil_clock_skew_seconds',
    help: "How far devices' readings are ahead of the server clock (median of recent devices; positive: the server is behind)",
    registers,
    collect() {
      this.set(estimate().skewSeconds);
    },
  });
  new Gauge({
    name: 'vigil_clock_skew_devices_ahead',
    help: 'Devices heard from recently whose readings are ahead of the server clock by more than VIGIL_CLOCK_SKEW_MINUTES',
    registers,
    collect() {
      this.set(estimate().devicesAhead);
    },
  });
}
