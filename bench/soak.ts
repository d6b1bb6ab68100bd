/**
 * The soak: one long stream into one Vigil process (`vigil start` defaults: embedded store), measured as it runs,
 * so that a cost that grows with the readings already taken shows as a falling rate or a climbing RSS. A fresh
 * process over 40,000 messages cannot see that; a programme runs Vigil for months.
 */
import { connect, type MqttClient } from 'mqtt';
import { counterTotal, currentRssMiB, mainThreadCpuSeconds, metricValue, percentile, processUsage } from './stats.js';
import { startVigil } from './targets.js';

export interface SoakOptions {
  readonly readings: number;
  readonly devices: number;
  readonly window: number;
  /** How often rate and RSS are sampled, ms. */
  readonly sampleMs?: number;
}

export interface SoakSample {
  /** Seconds since the stream started. */
  readonly at: number;
  /** Readings acknowledged so far. */
  readonly acknowledged: number;
  readonly rssMiB: number;
  /** V8 heap in use (all Vigil's JavaScript objects), MiB: what a leak would grow, whatever RSS does. */
  readonly heapMiB: number;
  /** Vigil's CPU seconds (user + system) so far. */
  readonly cpuSeconds: number;
  /** Of which its main thread's (the event loop: MQTT, intake, alerts), so that a decay can be placed. */
  readonly mainCpuSeconds: number;
  /** Readings committed to the outbox but not yet in the store: a store falling behind shows here first. */
  readonly outboxDepth: number;
}

export interface SoakTenth {
  readonly from: number;
  readonly to: number;
  readonly perSecond: number;
  readonly pubackP99: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  /** Vigil's CPU per reading over the tenth, µs: unlike the rate, it does not depend on what else the machine runs. */
  readonly cpuMicros: number;
  /** Of which its main thread's, µs per reading. */
  readonly mainCpuMicros: number;
  readonly outboxDepth: number;
}

export interface SoakResult {
  readonly readings: number;
  readonly devices: number;
  readonly seconds: number;
  readonly samples: readonly SoakSample[];
  readonly tenths: readonly SoakTenth[];
  /** Rate of the last tenth of the stream over the rate of the first. */
  readonly lastOverFirst: number;
  /** From the last PUBACK until the store held every reading, seconds (Infinity: not within DRAIN_LIMIT_MS). */
  readonly drainSeconds: number;
}

const WARM_UP_PER_DEVICE = 1_000;
/** How long the soak waits, after its last PUBACK, for the store to hold every reading. */
const DRAIN_LIMIT_MS = 300_000;
/** Measurement times of one device's readings, this far apart. */
const STEP_MS = 10;

/** A reading of about 150 bytes with its own id, timed STEP_MS apart per device, all in the past (see `base`). */
function payload(base: number, deviceId: string, n: number): string {
  return JSON.stringify({ type: 'heart_rate', time: new Date(base + n * STEP_MS).toISOString(), value: 60 + (n % 40), id: `${deviceId}-${n}-soak` });
}

async function connected(url: string, deviceId: string, secret: string): Promise<MqttClient> {
  const client = connect(url, { clientId: deviceId, username: deviceId, password: secret, reconnectPeriod: 0, connectTimeout: 30_000 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

export async function soak(o: SoakOptions): Promise<SoakResult> {
  const sampleMs = o.sampleMs ?? 1_000;
  const perDevice = Math.ceil(o.readings / o.devices);
  const total = perDevice * o.devices;
  const target = await startVigil(o.devices, {}, 'soak');
  try {
    const clients = await Promise.all(target.devices.map((d) => connected(target.url, d.deviceId, d.secret)));
    // PUBACK times are kept per tenth of the stream (in acknowledgement order), never all at once.
    const tenthSize = Math.ceil(total / 10);
    const pubacks: number[][] = Array.from({ length: 10 }, () => []);
    const tenthEnds: number[] = [];
    let acknowledged = 0;
    const samples: SoakSample[] = [];
    // Every reading in the past, however many: readings from the future (over VIGIL_FUTURE_TOLERANCE_SECONDS)
    // are refused, and a soak that ran into them measured the refusals (a longer soak once did, from 1.5 million on).
    // Twice a device's share: the devices share one stream (below), and a quicker one sends more than its share.
    const base = Date.now() - 2 * perDevice * STEP_MS - 1_200_000;
    // Warm-up, not measured: connections settle and V8 compiles the hot path, so that the first tenth is the
    // process at its steady best and a later tenth can only compare worse by decay. Ids are apart from the stream's.
    await Promise.all(
      clients.map(async (client, i) => {
        const deviceId = target.devices[i]!.deviceId;
        for (let n = 0; n < WARM_UP_PER_DEVICE; n++) await client.publishAsync(`rpm/v1/devices/${deviceId}/readings`, payload(base - 600_000, `${deviceId}-warm`, n), { qos: 1 });
      }),
    );
    const startedAt = performance.now();
    let heapMiB = Number.NaN;
    let outboxDepth = Number.NaN;
    const sample = (): SoakSample => ({
      at: (performance.now() - startedAt) / 1000,
      acknowledged,
      rssMiB: currentRssMiB(target.pid),
      heapMiB,
      cpuSeconds: processUsage(target.pid).cpuSeconds,
      mainCpuSeconds: mainThreadCpuSeconds(target.pid),
      outboxDepth,
    });
    // The heap and the outbox's depth come from Vigil's /metrics (prom-client), read between samples.
    const readMetrics = async () => {
      heapMiB = (await metricValue(target.httpUrl!, 'nodejs_heap_size_used_bytes', ['nodejs_heap_size_total_bytes']).catch(() => Number.NaN)) / 2 ** 20;
      outboxDepth = await metricValue(target.httpUrl!, 'vigil_outbox_depth').catch(() => Number.NaN);
    };
    await readMetrics();
    const sampler = setInterval(() => {
      samples.push(sample());
      void readMetrics();
    }, sampleMs);
    samples.push(sample());
    // One stream shared by every device, not a fixed share each: all of them send until its end, so the last
    // tenth is not a tail in which the devices that finished first have stopped (fewer in flight, a lower rate).
    let taken = 0;
    await Promise.all(
      clients.map(async (client, i) => {
        const deviceId = target.devices[i]!.deviceId;
        const topic = `rpm/v1/devices/${deviceId}/readings`;
        let next = 0;
        const worker = async () => {
          while (taken < total) {
            taken++;
            const n = next++;
            const published = performance.now();
            await client.publishAsync(topic, payload(base, deviceId, n), { qos: 1 });
            const now = performance.now();
            const tenth = Math.min(9, Math.floor(acknowledged / tenthSize));
            pubacks[tenth]!.push(now - published);
            acknowledged++;
            if (acknowledged % tenthSize === 0) tenthEnds.push((now - startedAt) / 1000);
          }
        };
        await Promise.all(Array.from({ length: o.window }, worker));
      }),
    );
    const seconds = (performance.now() - startedAt) / 1000;
    clearInterval(sampler);
    samples.push(sample());
    const sent = total + WARM_UP_PER_DEVICE * o.devices;
    const drainSeconds = await drained(target.httpUrl!, sent);
    if (tenthEnds.length < 10) tenthEnds.push(seconds);
    await Promise.all(clients.map((c) => c.endAsync(true)));
    // A soak measures readings taken; if Vigil refused any, it measured something else.
    const accepted = await counterTotal(target.httpUrl!, 'vigil_readings_accepted_total');
    if (accepted !== sent) throw new Error(`the soak's readings were not all accepted (${accepted} of ${sent}): see vigil_readings_rejected_total`);

    const tenths = tenthEnds.map((end, k) => {
      const start = k === 0 ? 0 : tenthEnds[k - 1]!;
      const sorted = pubacks[k]!.sort((a, b) => a - b);
      const first = samples.findLast((s) => s.at <= start) ?? samples[0]!;
      const last = samples.findLast((s) => s.at <= end) ?? samples.at(-1)!;
      const counted = last.acknowledged - first.acknowledged;
      const perReading = (seconds: number) => (counted > 0 ? (seconds / counted) * 1e6 : Number.NaN);
      return {
        from: k * tenthSize,
        to: Math.min(total, (k + 1) * tenthSize),
        perSecond: tenthSize / (end - start),
        pubackP99: percentile(sorted, 99),
        rssMiB: last.rssMiB,
        heapMiB: last.heapMiB,
        cpuMicros: perReading(last.cpuSeconds - first.cpuSeconds),
        mainCpuMicros: perReading(last.mainCpuSeconds - first.mainCpuSeconds),
        outboxDepth: last.outboxDepth,
      };
    });
    return { readings: acknowledged, devices: o.devices, seconds, samples, tenths, lastOverFirst: tenths.at(-1)!.perSecond / tenths[0]!.perSecond, drainSeconds };
  } finally {
    await target.stop();
  }
}

/** Seconds until Vigil's store holds `sent` readings (vigil_readings_stored_total), Infinity past DRAIN_LIMIT_MS. */
async function drained(httpUrl: string, sent: number): Promise<number> {
  const from = performance.now();
  while (performance.now() - from < DRAIN_LIMIT_MS) {
    if ((await metricValue(httpUrl, 'vigil_readings_stored_total').catch(() => 0)) >= sent) return (performance.now() - from) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Number.POSITIVE_INFINITY;
}

export function soakTable(r: SoakResult): string {
  const rows = r.tenths.map(
    (t, k) =>
      `| ${k + 1} | ${t.from.toLocaleString('en')}-${t.to.toLocaleString('en')} | ${Math.round(t.perSecond).toLocaleString('en')} | ${Math.round((t.perSecond / r.tenths[0]!.perSecond) * 100)} % | ${t.cpuMicros.toFixed(1)} | ${t.mainCpuMicros.toFixed(1)} | ${t.pubackP99.toFixed(1)} | ${Math.round(t.outboxDepth).toLocaleString('en')} | ${Math.round(t.rssMiB)} | ${Math.round(t.heapMiB)} |`,
  );
  const drain = Number.isFinite(r.drainSeconds) ? `every reading was stored ${r.drainSeconds.toFixed(1)} s after the last PUBACK` : `the store did **not** hold every reading ${DRAIN_LIMIT_MS / 1000} s after the last PUBACK`;
  return [
    '| tenth | readings | acknowledged/s | vs first tenth | Vigil CPU per reading (µs) | of which main thread (µs) | PUBACK p99 (ms) | outbox depth at its end | RSS at its end (MiB) | V8 heap in use (MiB) |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `${r.readings.toLocaleString('en')} readings from ${r.devices} devices in ${Math.round(r.seconds)} s: the last tenth ran at **${Math.round(r.lastOverFirst * 100)} %** of the first's rate; ${drain}.`,
  ].join('\n');
}

/**
 * The soak as a chart: acknowledged rate (per sampling interval) and RSS against readings taken, one SVG with
 * two axes. Drawn by hand: two polylines do not need a plotting library.
 */
export function soakChart(r: SoakResult): string {
  const width = 760;
  const height = 300;
  const pad = { left: 64, right: 64, top: 24, bottom: 44 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const points = r.samples.slice(1).map((s, k) => {
    const prev = r.samples[k]!;
    return { x: s.acknowledged, rate: (s.acknowledged - prev.acknowledged) / Math.max(1e-3, s.at - prev.at), rss: s.rssMiB };
  });
  const maxRate = niceCeil(Math.max(1, ...points.map((p) => p.rate)));
  const maxRss = niceCeil(Math.max(1, ...points.map((p) => p.rss)));
  const maxX = Math.max(1, r.readings);
  const x = (v: number) => pad.left + (v / maxX) * plotW;
  const yRate = (v: number) => pad.top + plotH - (v / maxRate) * plotH;
  const yRss = (v: number) => pad.top + plotH - (v / maxRss) * plotH;
  const line = (f: (p: (typeof points)[number]) => number) => points.map((p) => `${x(p.x).toFixed(1)},${f(p).toFixed(1)}`).join(' ');
  const ticks = [0, 0.25, 0.5, 0.75, 1];
  const grid = ticks
    .map((t) => {
      const y = pad.top + plotH - t * plotH;
      return `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${y}" y2="${y}" stroke="#ddd"/>` +
        `<text x="${pad.left - 6}" y="${y + 4}" text-anchor="end" fill="#1f5fa8">${Math.round(t * maxRate).toLocaleString('en')}</text>` +
        `<text x="${pad.left + plotW + 6}" y="${y + 4}" fill="#b5471b">${Math.round(t * maxRss)}</text>` +
        `<text x="${x(t * maxX)}" y="${pad.top + plotH + 16}" text-anchor="middle" fill="#333">${Math.round(t * maxX).toLocaleString('en')}</text>`;
    })
    .join('\n  ');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="sans-serif" font-size="11" role="img" aria-labelledby="title">
  <title id="title">Vigil soak: acknowledged readings per second (blue, left axis) and resident memory in MiB (orange, right axis) against readings taken</title>
  <rect width="${width}" height="${height}" fill="#fff"/>
  ${grid}
  <polyline fill="none" stroke="#1f5fa8" stroke-width="1.5" points="${line((p) => yRate(p.rate))}"/>
  <polyline fill="none" stroke="#b5471b" stroke-width="1.5" stroke-dasharray="5 3" points="${line((p) => yRss(p.rss))}"/>
  <text x="${pad.left}" y="14" fill="#1f5fa8">acknowledged/s</text>
  <text x="${pad.left + plotW}" y="14" text-anchor="end" fill="#b5471b">RSS MiB (dashed)</text>
  <text x="${pad.left + plotW / 2}" y="${height - 8}" text-anchor="middle" fill="#333">readings acknowledged (${r.devices} devices, QoS 1)</text>
</svg>
`;
}

function niceCeil(v: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(v));
  return Math.ceil(v / magnitude) * magnitude;
}
