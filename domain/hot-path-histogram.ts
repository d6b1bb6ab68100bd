import type { Metric, Registry } from 'prom-client';

export interface HotPathHistogramOptions {
  readonly name: string;
  readonly help: string;
  /** Upper bounds, in increasing order; `+Inf` is added. */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

export interface HistogramValues {
  readonly name: string;
  readonly help: string;
  readonly type: 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly { readonly metricName: string; readonly labels: { readonly le?: number | '+Inf' }; readonly value: number }[];
}

/**
 * A Prometheus histogram without labels, for a figure observed once per message: the PUBACK's and the outbox
 * commit's durations. prom-client's Histogram converts, validates and hashes its (empty) labels and looks its
 * value up by that hash on every observe: about 0.18 µs and some garbage each, a few per cent of the main
 * thread at tens of thousands of readings a second (docs/benchmarks.md, "A tenth look"). This one adds to a
 * bucket. The registry renders it as it renders prom-client's own (`_bucket` with cumulative counts and `le`,
 * `_sum`, `_count`); it takes any object with a name, help, type and `get()`.
 */
export class HotPathHistogram {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  /** How prom-client's cluster registry would merge workers' values (Vigil does not use it). */
  readonly aggregator = 'sum' as const;
  readonly #bounds: Float64Array;
  /** Per bucket, not cumulative; the last one counts values above every bound. */
  readonly #counts: Float64Array;
  #sum = 0;
  #count = 0;

  constructor(options: HotPathHistogramOptions) {
    const bounds = [...options.buckets];
    if (bounds.length === 0 || bounds.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= bounds[i - 1]!))) {
      throw new RangeError(`${options.name}: buckets must be finite and increasing`);
    }
    this.name = options.name;
    this.help = options.help;
    this.#bounds = Float64Array.from(bounds);
    this.#counts = new Float64Array(bounds.length + 1);
    // The registry's own type names prom-client's four classes; it reads only what this class has.
    for (const registry of options.registers) registry.registerMetric(this as unknown as Metric);
  }

  /**
   * Counts one value (seconds). A value that is not a finite number is not counted: the callers pass the
   * difference of two `performance.now()` readings, and a throw here would be on the path of a PUBACK.
   */
  readonly observe = (value: number): void => {
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.#counts[i]!++;
    this.#sum += value;
    this.#count++;
  };

  /** What the registry renders: prom-client's Histogram gives the same values in the same order. */
  get(): Promise<HistogramValues> {
    const values: HistogramValues['values'][number][] = [];
    let cumulative = 0;
    for (let i = 0; i < this.#bounds.length; i++) {
      cumulative += this.#counts[i]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { le: this.#bounds[i]! }, value: cumulative });
    }
    values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf' }, value: this.#count });
    values.push({ metricName: `${this.name}_sum`, labels: {}, value: this.#sum });
    values.push({ metricName: `${this.name}_count`, labels: {}, value: this.#count });
    return Promise.resolve({ name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    this.#counts.fill(0);
    this.#sum = 0;
    this.#count = 0;
  }
}
