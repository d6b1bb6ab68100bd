import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HotPathHistogram } from './hot-path-histogram.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.1, 1];

/** The same observations through prom-client's Histogram and through HotPathHistogram, each in its registry. */
async function both(values: readonly number[]): Promise<{ theirs: string; ours: string; registry: Registry; hot: HotPathHistogram }> {
  const reference = new Registry();
  const registry = new Registry();
  const histogram = new Histogram({ name: 'vigil_test_seconds', help: 'A duration', buckets: BUCKETS, registers: [reference] });
  const hot = new HotPathHistogram({ name: 'vigil_test_seconds', help: 'A duration', buckets: BUCKETS, registers: [registry] });
  for (const v of values) {
    histogram.observe(v);
    hot.observe(v);
  }
  return { theirs: await reference.metrics(), ours: await registry.metrics(), registry, hot };
}

describe('HotPathHistogram', () => {
  it('renders exactly as prom-client renders its own histogram, bounds and values on a bound included', async () => {
    const { theirs, ours } = await both([0.0004, 0.001, 0.003, 0.005, 0.0051, 0.07, 0.1, 0.5, 1, 3, 12.5]);
    expect(ours).toBe(theirs);
    expect(ours).toContain('vigil_test_seconds_bucket{le="0.005"} 4');
    expect(ours).toContain('vigil_test_seconds_bucket{le="+Inf"} 11');
  });

  it('renders an empty histogram as prom-client does', async () => {
    const { theirs, ours } = await both([]);
    expect(ours).toBe(theirs);
  });

  it('is read through the registry by name, and reset with it', async () => {
    const { registry, hot } = await both([0.002, 0.2]);
    expect(await registry.getSingleMetricAsString('vigil_test_seconds')).toContain('vigil_test_seconds_count 2');
    registry.resetMetrics();
    hot.observe(0.003);
    expect(await registry.getSingleMetricAsString('vigil_test_seconds')).toContain('vigil_test_seconds_count 1');
  });

  it('leaves out a value that is not a finite number rather than throw on the path of a PUBACK', async () => {
    const { hot, registry } = await both([0.002]);
    hot.observe(Number.NaN);
    hot.observe(Number.POSITIVE_INFINITY);
    expect(await registry.metrics()).toContain('vigil_test_seconds_count 1');
  });

  it('refuses buckets that are not increasing', () => {
    expect(() => new HotPathHistogram({ name: 'vigil_bad_seconds', help: 'x', buckets: [0.1, 0.1], registers: [] })).toThrow(/increasing/);
    expect(() => new HotPathHistogram({ name: 'vigil_bad_seconds', help: 'x', buckets: [], registers: [] })).toThrow(/increasing/);
  });
});
