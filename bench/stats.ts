import { readFileSync } from 'node:fs';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
}

export function summarise(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** CPU seconds (user + system, fields 14 and 15) in a /proc stat file: a process's, or one of its threads'. */
function cpuSecondsIn(statFile: string): number {
  const stat = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  return (Number(stat[11]) + Number(stat[12])) / 100;
}

/** CPU seconds (user + system) and peak RSS of a process, read from /proc (Linux). */
export function processUsage(pid: number): { cpuSeconds: number; peakRssMiB: number } {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return { cpuSeconds: cpuSecondsIn(`/proc/${pid}/stat`), peakRssMiB: hwm ? Number(hwm) / 1024 : Number.NaN };
}

/** CPU seconds (user + system) of a process's main thread, where its JavaScript runs, from /proc (Linux). */
export function mainThreadCpuSeconds(pid: number): number {
  return cpuSecondsIn(`/proc/${pid}/task/${pid}/stat`);
}

/** Resident memory of a process now, from /proc (Linux). */
export function currentRssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kb ? Number(kb) / 1024 : Number.NaN;
}

/** One unlabelled value from a Vigil's /metrics (Prometheus text), 0 when absent. */
/**
 * One value from Vigil's /metrics, asking for its family alone (the whole exposition costs Vigil's main thread
 * milliseconds per poll). `alongWith`: families to ask for first, in order, where one collects the value of
 * another (prom-client's nodejs_heap_size_total_bytes sets nodejs_heap_size_used_bytes).
 */
export async function metricValue(httpUrl: string, name: string, alongWith: readonly string[] = []): Promise<number> {
  const query = [...alongWith, name].map((n) => `name=${n}`).join('&');
  const text = await (await fetch(`${httpUrl}/metrics?${query}`)).text();
  return Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
}

/** Every sample of a counter family added up, whatever its labels (accepted readings are counted per type). */
export async function counterTotal(httpUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics?name=${name}`)).text();
  let total = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  return total;
}

/** A Prometheus histogram's cumulative bucket counts, by upper bound (seconds; +Inf last). */
export type Buckets = ReadonlyMap<number, number>;

/** Reads one unlabelled histogram family from a Vigil's /metrics. */
export async function histogramBuckets(httpUrl: string, name: string): Promise<Buckets> {
  const text = await (await fetch(`${httpUrl}/metrics?name=${name}`)).text();
  const buckets = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)`, 'gm'))) {
    buckets.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return buckets;
}

/**
 * The upper bound (ms) of the bucket holding the p-th percentile of what a histogram counted between two
 * snapshots: as coarse as its buckets, enough to tell a wait inside Vigil from one in the network or the client.
 */
export function bucketPercentile(before: Buckets, after: Buckets, p: number): number {
  const counts = [...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)] as const);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return Number.NaN;
  const found = counts.find(([, n]) => n >= (p / 100) * total);
  return (found?.[0] ?? Number.POSITIVE_INFINITY) * 1000;
}
