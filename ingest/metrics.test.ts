import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createIngestMetrics } from './metrics.js';

const line = (text: string, prefix: string) => text.split('\n').find((l) => l.startsWith(prefix));

describe('ingest metrics counted off the labelled API', () => {
  it('reports accepted readings by type at every scrape, each counted once', async () => {
    const registry = new Registry();
    const metrics = createIngestMetrics(registry);
    for (let i = 0; i < 3; i++) metrics.countAccepted('heart_rate');
    metrics.countAccepted('glucose');
    let text = await registry.metrics();
    expect(line(text, 'vigil_readings_accepted_total{type="heart_rate"}')).toBe('vigil_readings_accepted_total{type="heart_rate"} 3');
    expect(line(text, 'vigil_readings_accepted_total{type="glucose"}')).toBe('vigil_readings_accepted_total{type="glucose"} 1');
    metrics.countAccepted('heart_rate');
    text = await registry.metrics();
    expect(line(text, 'vigil_readings_accepted_total{type="heart_rate"}')).toBe('vigil_readings_accepted_total{type="heart_rate"} 4');
    expect(line(text, 'vigil_readings_accepted_total{type="glucose"}')).toBe('vigil_readings_accepted_total{type="glucose"} 1');
  });

  it('renders the outbox commits observed on the hot path as a histogram', async () => {
    const registry = new Registry();
    const metrics = createIngestMetrics(registry);
    metrics.outboxCommitSeconds.observe(0.0007);
    metrics.outboxCommitSeconds.observe(0.02);
    const text = await registry.metrics();
    expect(line(text, 'vigil_outbox_commit_duration_seconds_count')).toBe('vigil_outbox_commit_duration_seconds_count 2');
    expect(line(text, 'vigil_outbox_commit_duration_seconds_bucket{le="0.001"}')).toBe('vigil_outbox_commit_duration_seconds_bucket{le="0.001"} 1');
  });
});
