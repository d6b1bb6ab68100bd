/**
 * `npm run bench`: the same MQTT load (same clients, same 150-byte QoS 1 payloads, the same window of messages
 * in flight per device) against a bare aedes broker, Mosquitto, Vigil with its embedded store and Vigil with
 * InfluxDB, side by side in one run, so that results compare as ratios on a shared, noisy machine.
 * Writes docs/benchmarks.md.
 */
import { connect } from 'mqtt';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, totalmem } from 'node:os';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { benchDashboard, dashboardTable } from './dashboard.js';
import { benchIdle, idleTable } from './idle.js';
import { benchReports, reportsTable } from './reports.js';
import { runLoad, type LoadResult } from './load.js';
import { benchPayload } from './payload.js';
import { soak, soakChart, soakTable } from './soak.js';
import { metricValue, processUsage, summarise, type Summary } from './stats.js';
import { startBareAedes, startInfluxd, startMosquitto, startVigil, type Target } from './targets.js';
import { benchWorkers, workersTable } from './workers.js';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 40_000);
const WINDOW = Number(process.env.BENCH_WINDOW ?? 20);
const DEVICE_COUNTS = (process.env.BENCH_DEVICES ?? '10,100').split(',').map(Number);
const ALERT_SAMPLES = 50;
const WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';

interface Row {
  readonly target: string;
  readonly devices: number;
  readonly perSecond: number;
  readonly ratio: number;
  readonly puback: Summary;
  readonly storedLag?: Summary | undefined;
  readonly alert?: Summary | undefined;
  readonly cpuSeconds: number;
  readonly peakRssMiB: number;
}

const payload = benchPayload;

/** One QoS 1 subscriber, so that a bare broker delivers what it acknowledges, like Vigil stores it. */
async function subscribe(url: string): Promise<() => Promise<void>> {
  const sub = connect(url, { clientId: 'bench-subscriber', reconnectPeriod: 0 });
  await new Promise((resolve) => sub.once('connect', resolve));
  await sub.subscribeAsync('rpm/v1/devices/+/readings', { qos: 1 });
  return () => sub.endAsync(true);
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
  return {
    samples,
    async waitFor(count: number, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while ((samples.at(-1)?.stored ?? 0) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      running = false;
      await loop;
    },
  };
}

function storedLags(load: LoadResult, samples: { at: number; stored: number }[]): number[] {
  const byAck = [...load.timeline].sort((a, b) => a.ackedAt - b.ackedAt);
  const lags: number[] = [];
  let s = 0;
  byAck.forEach((m, k) => {
    while (s < samples.length && samples[s]!.stored < k + 1) s++;
    const sample = samples[s];
    if (sample) lags.push(sample.at - load.startedAt - m.publishedAt);
  });
  return lags;
}

/** A webhook receiver: the time an alert's opening reaches it, per patient. */
async function startReceiver(): Promise<{ url: string; openedAt: Map<string, number>; server: Server }> {
  const openedAt = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const event = JSON.parse(body) as { type: string; alert: { patientId: string } };
      if (event.type === 'alert.opened') openedAt.set(event.alert.patientId, performance.now());
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, openedAt, server };
}

async function measureBroker(target: Target, devices: number, ceiling: number | undefined): Promise<Row> {
  const unsubscribe = await subscribe(target.url);
  const before = processUsage(target.pid);
  const load = await runLoad({
    url: target.url,
    devices: Array.from({ length: devices }, (_, i) => ({ deviceId: `bench-${i}` })),
    perDevice: Math.ceil(MESSAGES / devices),
    window: WINDOW,
    payload,
  });
  const after = processUsage(target.pid);
  await unsubscribe();
  const perSecond = load.acknowledged / load.seconds;
  return { target: target.name, devices, perSecond, ratio: ceiling ? perSecond / ceiling : 1, puback: summarise(load.pubackMs), cpuSeconds: after.cpuSeconds - before.cpuSeconds, peakRssMiB: after.peakRssMiB };
}

async function measureVigil(devices: number, ceiling: number, influxUrl: string | undefined, pace?: number): Promise<Row> {
  const receiver = await startReceiver();
  const label = `${influxUrl ? 'Vigil, InfluxDB store' : 'Vigil, embedded SQLite store'}${pace ? `, paced at ${Math.round(pace).toLocaleString('en')}/s (half its rate above)` : ''}`;
  const env: Record<string, string> = { VIGIL_ALERT_WEBHOOK_URL: receiver.url, VIGIL_ALERT_WEBHOOK_SECRET: WEBHOOK_SECRET };
  if (influxUrl) Object.assign(env, { VIGIL_INFLUX_URL: influxUrl, VIGIL_INFLUX_DB: `bench${devices}` });
  const target = await startVigil(devices + ALERT_SAMPLES, env, label);
  try {
    const loadDevices = target.devices.slice(0, devices);
    const alertDevices = target.devices.slice(devices);
    const watcher = watchStored(target.httpUrl!);
    const before = processUsage(target.pid);
    // Alert probes: one crisis reading per probe patient, spread over the run; PUBACK time is recorded.
    const acked = new Map<string, number>();
    const probes = (async () => {
      const clients = await Promise.all(alertDevices.map((d) => connect(target.url, { clientId: d.deviceId, username: d.deviceId, password: d.secret, reconnectPeriod: 0 })));
      await Promise.all(clients.map((c) => new Promise((resolve) => c.once('connect', resolve))));
      for (const [i, client] of clients.entries()) {
        await new Promise((resolve) => setTimeout(resolve, 40));
        const d = alertDevices[i]!;
        await client.publishAsync(`rpm/v1/devices/${d.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 195, diastolic: 110, id: 'probe' }), { qos: 1 });
        acked.set(d.patientId, performance.now());
      }
      await Promise.all(clients.map((c) => c.endAsync(true)));
    })();
    // Paced runs send fewer messages (the same number of seconds as the full-speed run, roughly).
    const perDevice = Math.ceil((pace ? MESSAGES / 2 : MESSAGES) / devices);
    const load = await runLoad({ url: target.url, devices: loadDevices, perDevice, window: WINDOW, payload, ratePerSecond: pace });
    await probes;
    await watcher.waitFor(load.acknowledged + ALERT_SAMPLES);
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
      storedLag: summarise(storedLags(load, watcher.samples)),
      alert: summarise(alertLatencies),
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      peakRssMiB: after.peakRssMiB,
    };
  } finally {
    await target.stop();
    receiver.server.close();
  }
}

const fmt = (v: number | undefined, d = 1) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(d));

function table(rows: Row[]): string {
  const head = '| target | devices | acknowledged/s | vs bare aedes | publish to PUBACK p50 / p99 (ms) | publish to stored p50 / p99 (ms) | PUBACK to alert at webhook p50 / p99 (ms, n) | CPU s | peak RSS MiB |';
  const sep = '|---|---|---|---|---|---|---|---|---|';
  const lines = rows.map((r) =>
    `| ${r.target} | ${r.devices} | ${Math.round(r.perSecond).toLocaleString('en')} | ${Math.round(r.ratio * 100)} % | ${fmt(r.puback.p50)} / ${fmt(r.puback.p99)} | ${r.storedLag ? `${fmt(r.storedLag.p50, 0)} / ${fmt(r.storedLag.p99, 0)}` : '-'} | ${r.alert ? `${fmt(r.alert.p50)} / ${fmt(r.alert.p99)} (${r.alert.n})` : '-'} | ${fmt(r.cpuSeconds)} | ${fmt(r.peakRssMiB, 0)} |`,
  );
  return [head, sep, ...lines].join('\n');
}

const rows: Row[] = [];
const influx = await startInfluxd();
try {
  for (const devices of DEVICE_COUNTS) {
    process.stderr.write(`bench: ${devices} devices, ${MESSAGES} messages, window ${WINDOW}\n`);
    const aedes = await startBareAedes();
    const bare = await measureBroker(aedes, devices, undefined).finally(() => aedes.stop());
    rows.push(bare);
    const mosquitto = await startMosquitto();
    if (mosquitto) rows.push(await measureBroker(mosquitto, devices, bare.perSecond).finally(() => mosquitto.stop()));
    rows.push(await measureVigil(devices, bare.perSecond, undefined));
    if (influx) {
      const full = await measureVigil(devices, bare.perSecond, influx.url);
      rows.push(full);
      rows.push(await measureVigil(devices, bare.perSecond, influx.url, full.perSecond / 2));
    }
    process.stderr.write(`${table(rows)}\n`);
  }
} finally {
  await influx?.stop();
}

const WORKER_DEVICES = Number(process.env.BENCH_WORKER_DEVICES ?? 10);
process.stderr.write(`bench: workers on an external Mosquitto beside the embedded broker, ${WORKER_DEVICES} devices\n`);
const workersSection = workersTable(
  await benchWorkers({ messages: MESSAGES, devices: WORKER_DEVICES, window: WINDOW, workerCounts: (process.env.BENCH_WORKERS ?? '1,2,3').split(',').map(Number), payload }),
);
process.stderr.write(`${workersSection}\n`);

const SOAK_READINGS = Number(process.env.BENCH_SOAK_READINGS ?? 1_000_000);
process.stderr.write(`bench: soak, ${SOAK_READINGS} readings\n`);
const soaked = await soak({ readings: SOAK_READINGS, devices: 10, window: WINDOW });
await writeFile(join(import.meta.dirname, '..', '..', 'docs', 'images', 'soak.svg'), soakChart(soaked));
const soakSection = soakTable(soaked);
process.stderr.write(`${soakSection}\n`);

process.stderr.write('bench: idle devices and a reconnect storm\n');
const idleSection = idleTable(await benchIdle());
process.stderr.write(`${idleSection}\n`);

process.stderr.write('bench: reports over a year of CGM\n');
const reportsSection = reportsTable(await benchReports());
process.stderr.write(`${reportsSection}\n`);

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let dashboardSection = 'The dashboard measurement needs Debian\'s `chromium` (`.ci/run` installs it); it was not found.';
if (existsSync(chromiumPath)) {
  process.stderr.write('bench: dashboard with 5,000 patients\n');
  const result = await benchDashboard(chromiumPath);
  dashboardSection = dashboardTable(result);
  process.stderr.write(`${dashboardSection}\n`);
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
const report = `# Benchmarks

Measured with \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB,
Node ${process.version}. The load generator runs on the same cores as the server under test, so absolute
figures are conservative; compare the ratios, which come from one run.

Load: ${MESSAGES.toLocaleString('en')} QoS 1 messages of about 150 bytes (a heart-rate reading with its id), devices
publishing over TCP with at most ${WINDOW} messages in flight each. The bare brokers have one QoS 1 subscriber
(Mosquitto with \`max_queued_messages 0\` and \`max_inflight_messages 0\`: its defaults drop QoS 1 messages to a
slow subscriber). Vigil validates, normalises, deduplicates and fsyncs every reading before its PUBACK,
evaluates the rules and stores it. "Publish to stored" is estimated from Vigil's stored counter sampled
every 50 ms. The "paced" rows send at half the rate Vigil reached in the row above, on a fixed schedule per
device (open loop): the latency a programme sees when Vigil runs at half its capacity. "PUBACK to alert" is the time from the PUBACK of a blood-pressure crisis reading (${ALERT_SAMPLES} probes
per run, one per patient, spread over the load) to the \`alert.opened\` webhook reaching a receiver in the
bench process. CPU seconds and peak RSS are the server process's (for InfluxDB runs, Vigil's alone); Vigil's CPU includes
authenticating every device at connect (a SHA-256 digest of its secret).

${table(rows)}

## Workers on an external Mosquitto

The same load (${MESSAGES.toLocaleString('en')} messages, ${WORKER_DEVICES} devices, window ${WINDOW}) through one Mosquitto (tuned not to drop)
consumed by 1, 2 and 3 Vigil workers (\`vigil start\` with \`VIGIL_BROKER_URL\`, each its own process, data dir and
embedded store, one shared-subscription group), beside one Vigil with its embedded broker, in the same run
([deployment](deployment.md#workers-on-your-broker)). Through a broker, the device's PUBACK comes from Mosquitto
when it has the message; Vigil's guarantee starts when a worker has committed it to its outbox and sent its own
PUBACK to the broker. "Durable in Vigil" is that rate: from the first publish to the last worker PUBACK (read from
the workers' \`vigil_broker_ack_duration_seconds_count\`); "stored" to the last reading in the workers' stores.
With the embedded broker the device's PUBACK is the durable one. All processes share the machine's cores.

${workersSection}

## The soak: a long stream into one process

\`vigil start\` (embedded store) takes ${SOAK_READINGS.toLocaleString('en')} readings from 10 devices (window ${WINDOW}) in one run, after a
warm-up of 10,000 that is not measured, measured as it goes: a cost that grows with the readings already taken (a cache, a window, a table) shows here as a
falling rate, a rising CPU per reading or a climbing RSS, where a fresh process over 40,000 messages shows
nothing. Vigil's CPU per reading is read from \`/proc\` (all its threads) and does not depend on what else the
machine runs; the rate does.

![Acknowledged readings per second and Vigil's RSS against readings taken](images/soak.svg)

${soakSection}

## Where the time goes

Profiled with \`BENCH_VIGIL_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" npm run bench:soak\` (the flags reach the
Vigil process alone), main thread, embedded store, 10 devices. Before the changes of issue 12 a reading cost
Vigil's main thread: socket writes of single PUBACKs 16 %, the embedded store's inserts and commit fsync 13 %
(synchronous, blocking every device meanwhile), garbage collection 7-8 %, decoding the records just written
4 %, the duplicate window 3-6 %, record encoding 2 %. What changed, and why:

- PUBACKs released together by one group commit leave in one \`writev\` (the byte-stream guard's \`_writev\`),
  not one \`write\` system call each.
- The embedded store writes in a worker thread (\`ingest/store/sqlite-writer.ts\`), keyed patient-first so one
  B-tree serves both inserts and queries.
- The shipper takes the readings of the latest commits from memory (\`ingest/outbox/committed-tail.ts\`); the
  segments on disk stay the truth after a restart or when it falls behind.
- A 32 MiB semi-space (\`app/runtime-flags.ts\`, set by every launcher) halves garbage collection.
- One \`Map.get\` per generation in the duplicate window, one buffer per outbox record.

What is left is the floor: aedes and mqtt-packet (parsing, per-packet bookkeeping), the hashing of each
reading's idempotency key, zod validation, JSON, and the fdatasync of each group commit.

## Connected idle devices and a reconnect storm

\`vigil start\` (embedded store) with ${Number(process.env.BENCH_IDLE_DEVICES ?? 10_000).toLocaleString('en')} provisioned devices. Each device opens its own TCP connection
and MQTT session (its own credentials, keep-alive off) and then says nothing. RSS is read from \`/proc\` after
five idle seconds. Then every connection is cut at once and every device reconnects at once, as a fleet of hubs
does after a network outage.

${idleSection}

## The dashboard with 5,000 patients

Vigil (\`vigil start\`, embedded store) with 5,000 patients in 10 care teams, one in ten with open alerts and
each with their latest readings (written before start), 20 simulated devices streaming heart-rate readings over
MQTT every 100 ms, and ten more devices each sending one blood-pressure crisis during the stream. An
administrator (all 5,000 patients) watches the worklist in headless Chromium on the same machine. "On screen"
is when the alert's patient link exists in the feed's DOM; long tasks are the browser's own
\`PerformanceObserver\` entries (main thread busy over 50 ms) during the stream.

${dashboardSection}

## Reports over a year of CGM

One patient with 365 days of 5-minute CGM readings (105,120 points), in the embedded store and in InfluxDB 1.x.
The glucose report's time in ranges, mean and SD are aggregated by the store; its wear interval and profile read
the period's raw points. Median of 7 runs, and the worst. The last column is what the report does not do: load
the year's raw points into JavaScript.

${reportsSection}

Reproduce: \`npm run bench\` (environment: \`BENCH_MESSAGES\`, \`BENCH_WINDOW\`, \`BENCH_DEVICES\`, e.g. \`10,100,10000\`;
\`BENCH_SOAK_READINGS\`; \`BENCH_VIGIL_NODE_ARGS\` to profile the Vigil process;
\`BENCH_WORKER_DEVICES\`, \`BENCH_WORKERS\` (e.g. \`1,2,3\`); \`BENCH_IDLE_DEVICES\`, \`BENCH_DASHBOARD_PATIENTS\`, \`BENCH_DASHBOARD_SECONDS\`);
\`npm run bench:soak\`, \`npm run bench:idle\`, \`npm run bench:dashboard\`, \`npm run bench:reports\` and \`npm run bench:workers\`
print their tables alone.
Mosquitto and InfluxDB rows need Debian's \`mosquitto\` and \`influxdb\` packages (\`.ci/run\` installs them).
`;
await writeFile(join(import.meta.dirname, '..', '..', 'docs', 'benchmarks.md'), report);
process.stdout.write(`${report}\n`);
process.exit(0);
