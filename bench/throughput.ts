/**
 * The side-by-side throughput rows of `npm run bench`: the same MQTT load (same clients, same 150-byte QoS 1
 * payloads, the same window in flight per device) against a bare aedes broker, Mosquitto, Vigil with its embedded
 * store and Vigil with InfluxDB, in one run, so that results compare as ratios on a shared, noisy machine.
 * Every target first takes a warm-up that is not measured: a programme runs Vigil for months, so the figure that
 * matters is the process after V8 has compiled its hot path, not its first seconds (and the bare brokers get the
 * same warm-up, so the ratio stays fair).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'mqtt';
import { BENCH_WEBHOOK_SECRET, startAlertReceiver } from './alert-receiver.js';
import { LeanClient } from './lean-client.js';
import { runLoad, type LoadResult } from './load.js';
import { benchPayload } from './payload.js';
import { describeInside, insideSnapshot, type InsideSnapshot } from './inside.js';
import { metricValue, processUsage, summarise, type Summary } from './stats.js';
import { startBareAedes, startInfluxd, startMosquitto, startVigil, type Target } from './targets.js';

// Long enough that a fast target (a warm bare broker takes 40,000 in about a second) is measured over seconds.
export const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200_000);
export const WINDOW = Number(process.env.BENCH_WINDOW ?? 20);
const DEVICE_COUNTS = (process.env.BENCH_DEVICES ?? '10,100').split(',').map(Number);
/** Which rows to run (all by default): a profile or an experiment often needs only bare aedes and one Vigil row. */
const TARGETS = new Set((process.env.BENCH_TARGETS ?? 'aedes,mosquitto,sqlite,influx,paced').split(','));
export const ALERT_SAMPLES = 50;
/** Messages in every target's warm-up (not measured), spread over its devices. */
export const WARM_UP = Number(process.env.BENCH_WARM_UP ?? 20_000);
/**
 * Rounds per device count: each round measures bare aedes and then every Vigil row against that round's aedes,
 * and a row shows the round with the median ratio and the range over all rounds. One round's ratio swung by
 * +-8 points between runs on this shared 2-core machine; neighbouring runs drift together, so pairing each
 * Vigil run with the aedes run just before it, and taking the median of rounds, is what steadies the figure.
 */
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/**
 * The paced rows' rate, messages/s across all devices; unset: half the median full InfluxDB rate. Set, the full
 * InfluxDB rounds are skipped unless `influx` is among the targets: a latency experiment runs the paced rows alone.
 */
const PACED_RATE = process.env.BENCH_PACED_RATE ? Number(process.env.BENCH_PACED_RATE) : undefined;

export interface Row {
  readonly target: string;
  readonly devices: number;
  readonly perSecond: number;
  readonly ratio: number;
  readonly puback: Summary;
  readonly storedLag?: Summary | undefined;
  readonly alert?: Summary | undefined;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
  /** Rounds measured, and the lowest and highest ratio among them (this row is the median round). */
  readonly rounds?: number | undefined;
  readonly ratioRange?: readonly [number, number] | undefined;
}

/** The round with the median ratio (the lower one of an even count), with the spread of all rounds. */
export function medianRound(rounds: readonly Row[], by: (r: Row) => number = (r) => r.ratio): Row {
  const sorted = [...rounds].sort((a, b) => by(a) - by(b));
  const median = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return { ...median, rounds: sorted.length, ratioRange: [sorted[0]!.ratio, sorted.at(-1)!.ratio] };
}

const payload = benchPayload;

/** One QoS 1 subscriber, so that a bare broker delivers what it acknowledges, like Vigil stores it. */
async function subscribe(url: string): Promise<() => Promise<void>> {
  const { hostname, port } = new URL(url);
  const sub = await LeanClient.connect({ host: hostname, port: Number(port), clientId: 'bench-subscriber' });
  await sub.subscribe('rpm/v1/devices/+/readings');
  return () => sub.end();
}

/** Polls Vigil's stored counter to estimate when each acknowledged reading reached the store. */
function watchStored(httpUrl: string) {
  const samples: { at: number; stored: number }[] = [];
  let running = true;
  let failedPolls = 0;
  const loop = (async () => {
    while (running) {
      try {
        const stored = await metricValue(httpUrl, 'vigil_readings_stored_total');
        samples.push({ at: performance.now(), stored });
      } catch (err) {
        // A kept-alive connection the server closed as it was reused (likelier while 10,000 devices connect):
        // a sample is skipped, the next one comes 50 ms later.
        failedPolls++;
        if (failedPolls > 100) throw err;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const stored = () => samples.at(-1)?.stored ?? 0;
  return {
    samples,
    /** Resolves once the counter has reached `count`, polling on. */
    async reached(count: number, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while (stored() < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    },
    async waitFor(count: number, timeoutMs = 120_000) {
      await this.reached(count, timeoutMs);
      running = false;
      await loop;
    },
  };
}

/** `before`: readings stored ahead of the measured ones (the warm-up's), which the counter includes. */
function storedLags(load: LoadResult, samples: { at: number; stored: number }[], before: number): number[] {
  const byAck = [...load.timeline].sort((a, b) => a.ackedAt - b.ackedAt);
  const lags: number[] = [];
  let s = 0;
  byAck.forEach((m, k) => {
    while (s < samples.length && samples[s]!.stored < before + k + 1) s++;
    const sample = samples[s];
    if (sample) lags.push(sample.at - load.startedAt - m.publishedAt);
  });
  return lags;
}

/** `pace`: the paced rows' rate and message count, so that a bare broker's latency is seen under the same schedule. */
async function measureBroker(target: Target, devices: number, ceiling: number | undefined, pace?: number): Promise<Row> {
  const unsubscribe = await subscribe(target.url);
  let before = processUsage(target.pid);
  const load = await runLoad({
    url: target.url,
    devices: Array.from({ length: devices }, (_, i) => ({ deviceId: `bench-${i}` })),
    perDevice: Math.ceil((pace ? MESSAGES / 2 : MESSAGES) / devices),
    window: WINDOW,
    payload,
    ratePerSecond: pace,
    warmUpPerDevice: Math.ceil(WARM_UP / devices),
    afterWarmUp: () => {
      before = processUsage(target.pid);
    },
  });
  const after = processUsage(target.pid);
  await unsubscribe();
  const perSecond = load.acknowledged / load.seconds;
  const name = pace ? `${target.name}, paced at ${Math.round(pace).toLocaleString('en')}/s (as the row below)` : target.name;
  return { target: name, devices, perSecond, ratio: ceiling ? perSecond / ceiling : 1, puback: summarise(load.pubackMs), cpuSeconds: after.cpuSeconds - before.cpuSeconds, peakRssMiB: after.peakRssMiB };
}

async function measureVigil(devices: number, ceiling: number, influxUrl: string | undefined, pace?: number): Promise<Row> {
  const receiver = await startAlertReceiver();
  const label = `${influxUrl ? 'Vigil, InfluxDB store' : 'Vigil, embedded SQLite store'}${pace ? `, paced at ${Math.round(pace).toLocaleString('en')}/s (half its rate above)` : ''}`;
  const env: Record<string, string> = { VIGIL_ALERT_WEBHOOK_URL: receiver.url, VIGIL_ALERT_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET };
  if (influxUrl) Object.assign(env, { VIGIL_INFLUX_URL: influxUrl, VIGIL_INFLUX_DB: `bench${devices}` });
  const target = await startVigil(devices + ALERT_SAMPLES, env, label);
  try {
    const loadDevices = target.devices.slice(0, devices);
    const alertDevices = target.devices.slice(devices);
    const watcher = watchStored(target.httpUrl!);
    let before = processUsage(target.pid);
    // Alert probes: one crisis reading per probe patient, spread over the measured run; PUBACK time is recorded.
    // Their clients connect before the warm-up ends, so that their authentication is not in the measured CPU.
    const acked = new Map<string, number>();
    const probeClients = await Promise.all(alertDevices.map((d) => connect(target.url, { clientId: d.deviceId, username: d.deviceId, password: d.secret, reconnectPeriod: 0 })));
    await Promise.all(probeClients.map((c) => new Promise((resolve) => c.once('connect', resolve))));
    let probes: Promise<void> = Promise.resolve();
    let insideBefore: Promise<InsideSnapshot> | undefined;
    const sendProbes = async () => {
      for (const [i, client] of probeClients.entries()) {
        await new Promise((resolve) => setTimeout(resolve, 40));
        const d = alertDevices[i]!;
        await client.publishAsync(`rpm/v1/devices/${d.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 195, diastolic: 110, id: 'probe' }), { qos: 1 });
        acked.set(d.patientId, performance.now());
      }
      await Promise.all(probeClients.map((c) => c.endAsync(true)));
    };
    // Paced runs send fewer messages (the same number of seconds as the full-speed run, roughly).
    const perDevice = Math.ceil((pace ? MESSAGES / 2 : MESSAGES) / devices);
    const warmUpPerDevice = Math.ceil(WARM_UP / devices);
    const load = await runLoad({
      url: target.url,
      devices: loadDevices,
      perDevice,
      window: WINDOW,
      payload,
      ratePerSecond: pace,
      warmUpPerDevice,
      afterWarmUp: async () => {
        // The measured load starts once the warm-up's readings are stored, or a paced row would time its first
        // seconds behind the warm-up's storage backlog, which is not the state of a Vigil running at half its
        // capacity (nor is the aftermath of a full-rate burst: a paced row's warm-up is paced, load.ts).
        await watcher.reached(warmUpPerDevice * devices);
        before = processUsage(target.pid);
        insideBefore = insideSnapshot(target.httpUrl!);
        probes = sendProbes();
      },
    });
    process.stderr.write(`bench: ${label}, ${devices} devices: ${describeInside(await insideBefore!, await insideSnapshot(target.httpUrl!), load.seconds)}\n`);
    // BENCH_TIMELINE_DIR keeps each measured message's publish and PUBACK times (ms from the load's start), one
    // JSON file per Vigil run: where in the run a percentile's slow messages fell.
    if (process.env.BENCH_TIMELINE_DIR) {
      await writeFile(join(process.env.BENCH_TIMELINE_DIR, `${label.replace(/[^a-z0-9]+/gi, '-')}-${devices}-${Date.now()}.json`), JSON.stringify(load.timeline));
    }
    await probes;
    await watcher.waitFor(warmUpPerDevice * devices + load.acknowledged + ALERT_SAMPLES);
    const deadline = Date.now() + 30_000;
    while (receiver.openedAt.size < ALERT_SAMPLES && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const after = processUsage(target.pid);
    const alertLatencies = [...acked].flatMap(([patient, at]) => (receiver.openedAt.has(patient) ? [receiver.openedAt.get(patient)! - at] : []));
    const perSecond = load.acknowledged / load.seconds;
    return {
      target: label,
      devices,
      perSecond,
      ratio: perSecond / ceiling,
      puback: summarise(load.pubackMs),
      storedLag: summarise(storedLags(load, watcher.samples, warmUpPerDevice * devices)),
      alert: summarise(alertLatencies),
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssMiB: after.peakRssMiB,
    };
  } finally {
    await target.stop();
    await receiver.close();
  }
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));

function percentWithRange(r: Row): string {
  const pct = (v: number) => Math.round(v * 100);
  const spread = r.ratioRange && (r.rounds ?? 1) > 1 && r.ratioRange[0] !== r.ratioRange[1] ? ` (${pct(r.ratioRange[0])}-${pct(r.ratioRange[1])}, ${r.rounds} rounds)` : '';
  return `${pct(r.ratio)} %${spread}`;
}

export function table(rows: Row[]): string {
  const head = '| target | devices | acknowledged/s | vs bare aedes (median; range of rounds) | publish to PUBACK p50 / p99 (ms) | publish to stored p50 / p99 (ms) | PUBACK to alert at webhook p50 / p99 (ms, n) | CPU s | peak RSS MiB |';
  const sep = '|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) =>
    `| ${r.target} | ${r.devices} | ${Math.round(r.perSecond).toLocaleString('en')} | ${percentWithRange(r)} | ${fmt(r.puback.p50)} / ${fmt(r.puback.p99)} | ${r.storedLag ? `${fmt(r.storedLag.p50, 0)} / ${fmt(r.storedLag.p99, 0)}` : '-'} | ${r.alert ? `${fmt(r.alert.p50)} / ${fmt(r.alert.p99)} (${r.alert.n})` : '-'} | ${fmt(r.cpuSeconds)} | ${fmt(r.peakRssMiB, 0)} |`,
  );
  return [head, sep, ...lines].join('\n');
}

/**
 * Every device count, in ROUNDS rounds: bare aedes, Mosquitto, then Vigil with each store, each against the
 * round's aedes; then InfluxDB paced once at half the median full rate.
 */
export async function benchThroughput(): Promise<Row[]> {
  const rows: Row[] = [];
  const influx = TARGETS.has('influx') || TARGETS.has('paced') ? await startInfluxd() : undefined;
  try {
    for (const devices of DEVICE_COUNTS) {
      process.stderr.write(`bench: ${devices} devices, ${MESSAGES} messages, window ${WINDOW}, ${ROUNDS} rounds\n`);
      const rounds = { bare: [] as Row[], mosquitto: [] as Row[], sqlite: [] as Row[], influx: [] as Row[] };
      for (let round = 0; round < ROUNDS; round++) {
        const aedes = await startBareAedes();
        const bare = await measureBroker(aedes, devices, undefined).finally(() => aedes.stop());
        rounds.bare.push(bare);
        const mosquitto = TARGETS.has('mosquitto') ? await startMosquitto() : undefined;
        if (mosquitto) rounds.mosquitto.push(await measureBroker(mosquitto, devices, bare.perSecond).finally(() => mosquitto.stop()));
        if (TARGETS.has('sqlite')) rounds.sqlite.push(await measureVigil(devices, bare.perSecond, undefined));
        if (influx && (TARGETS.has('influx') || PACED_RATE === undefined)) rounds.influx.push(await measureVigil(devices, bare.perSecond, influx.url));
      }
      const bare = medianRound(rounds.bare, (r) => r.perSecond);
      rows.push(bare);
      for (const measured of [rounds.mosquitto, rounds.sqlite]) if (measured.length > 0) rows.push(medianRound(measured));
      if (influx) {
        if (TARGETS.has('influx')) rows.push(medianRound(rounds.influx));
        if (TARGETS.has('paced')) {
          const pace = PACED_RATE ?? medianRound(rounds.influx).perSecond / 2;
          // The bare broker under the same schedule: the latency of the load generator, the cores and aedes alone.
          const aedes = await startBareAedes();
          rows.push(await measureBroker(aedes, devices, bare.perSecond, pace).finally(() => aedes.stop()));
          rows.push(await measureVigil(devices, bare.perSecond, influx.url, pace));
        }
      }
      process.stderr.write(`${table(rows)}\n`);
    }
  } finally {
    await influx?.stop();
  }

  return rows;
}
