/**
 * An alert storm: many patients cross a critical limit at once while devices keep sending normal readings. What
 * a programme meets after a regional outage, when hubs come back and send what they held. Two things matter: that
 * every alert reaches the care team's receiver soon, and that the storm does not hold every other device's
 * PUBACK while the alerts are written and sent. With shared alerts (VIGIL_DATABASE_URL) the alerts are written to
 * PostgreSQL instead, and a third thing matters: how soon every alert exists there, for every other worker.
 */
import pg from 'pg';
import { BENCH_WEBHOOK_SECRET, startAlertReceiver } from './alert-receiver.js';
import { LeanClient } from './lean-client.js';
import { runLoad } from './load.js';
import { benchPayload } from './payload.js';
import { postgresCpuSeconds, startPostgres, type BenchPostgres } from './postgres.js';
import { processUsage, summarise, type Summary } from './stats.js';
import { startVigil } from './targets.js';

export interface StormOptions {
  /** Patients whose device sends one crisis reading, all in the same instant. */
  readonly patients: number;
  /** Devices sending normal readings throughout, and their rate across all of them (messages/s). */
  readonly devices: number;
  readonly rate: number;
  /** Seconds of paced load; the storm comes after a third of them. */
  readonly seconds: number;
  /** How long the webhook receiver takes to answer each delivery (a pager service across the internet: tens of ms). */
  readonly receiverDelayMs: number;
  /** Shared alerts: Vigil with VIGIL_DATABASE_URL on a PostgreSQL the bench starts, instead of its embedded alerts. */
  readonly shared: boolean;
}

export interface StormResult {
  readonly o: StormOptions;
  /** Each crisis reading's publish to its PUBACK. */
  readonly stormPuback: Summary & { readonly max: number };
  /** The storm's start to each alert.opened at the receiver, and how many arrived within the wait. */
  readonly alertMs: Summary & { readonly max: number };
  readonly alertsReceived: number;
  /** The other devices' publish to PUBACK: the messages published before the storm, and during it. */
  readonly before: Summary & { readonly max: number };
  readonly during: Summary & { readonly max: number };
  /** How long "during" lasted: from the storm's publishes to the last alert received, at least one second. */
  readonly duringMs: number;
  readonly cpuSeconds: number;
  /** Shared alerts: the storm's start to each alert existing in PostgreSQL (committed), polled every 20 ms. */
  readonly inPostgres?: (Summary & { readonly max: number }) | undefined;
  /** Shared alerts: PostgreSQL's CPU over the paced load (all its processes). */
  readonly postgresCpuSeconds?: number | undefined;
}

/** The bench's storm: 500 patients at once beside 10 devices at 4,000 readings/s, unless told otherwise. */
export const STORM: StormOptions = {
  patients: Number(process.env.BENCH_STORM_PATIENTS ?? 500),
  devices: 10,
  rate: Number(process.env.BENCH_STORM_RATE ?? 4_000),
  seconds: 9,
  receiverDelayMs: 0,
  shared: false,
};

/** The receiver's answer times the bench measures the storm with: at once (loopback), and as a far receiver. */
export const STORM_RECEIVER_DELAYS = (process.env.BENCH_STORM_RECEIVER_MS ?? '0,50').split(',').map(Number);

/** Where the storm's alerts are written: `embedded` (the state database), `shared` (PostgreSQL), or both in turn. */
export const STORM_ALERTS = (process.env.BENCH_STORM_ALERTS ?? 'embedded,shared').split(',').map((a) => {
  if (a !== 'embedded' && a !== 'shared') throw new Error(`BENCH_STORM_ALERTS: embedded or shared, not ${a}`);
  return a === 'shared';
});

/** Every storm the environment asks for: each receiver delay, with the alerts each way, in the order asked. */
export async function storms(): Promise<string> {
  const tables: string[] = [];
  for (const receiverDelayMs of STORM_RECEIVER_DELAYS) {
    for (const shared of STORM_ALERTS) {
      const result = await storm({ ...STORM, receiverDelayMs, shared });
      tables.push(result ? stormTable(result) : 'Shared alerts need Debian\'s PostgreSQL 15 (`/usr/lib/postgresql/15/bin`); it was not found.');
    }
  }
  return tables.join('\n\n');
}

/** How long the bench waits for the last alert after the load has ended. */
const ALERT_WAIT_MS = 60_000;

function withMax(values: readonly number[]): Summary & { max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { ...summarise(sorted), max: sorted.at(-1) ?? Number.NaN };
}

/**
 * Polls PostgreSQL for the storm's alerts from `from` until all `count` exist (or the deadline), and answers the
 * time from `from` to the poll that first saw each one. One poll every 20 ms on a connection of its own.
 */
async function pollAlerts(url: string, from: number, count: number, deadline: number): Promise<number[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const times: number[] = [];
  try {
    while (times.length < count && Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM alerts WHERE rule_id = 'bp.crisis'");
      const seenAt = performance.now() - from;
      while (times.length < Math.min(rows[0]!.n, count)) times.push(seenAt);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } finally {
    await client.end();
  }
  return times;
}

/** One storm; undefined when it asks for shared alerts and PostgreSQL is not installed. */
export async function storm(o: StormOptions): Promise<StormResult | undefined> {
  let postgres: BenchPostgres | undefined;
  if (o.shared) {
    postgres = await startPostgres();
    if (!postgres) return undefined;
  }
  const hook = await startAlertReceiver(o.receiverDelayMs);
  const env: Record<string, string> = { VIGIL_ALERT_WEBHOOK_URL: hook.url, VIGIL_ALERT_WEBHOOK_SECRET: BENCH_WEBHOOK_SECRET };
  // The data dir's registry is adopted into PostgreSQL at the first start with the URL (as a deployment moving to it).
  if (postgres) env.VIGIL_DATABASE_URL = postgres.url;
  const target = await startVigil(o.devices + o.patients, env, o.shared ? 'Vigil, alert storm, shared alerts' : 'Vigil, alert storm').catch(async (err: unknown) => {
    await hook.close();
    await postgres?.stop();
    throw err;
  });
  let polled: Promise<number[]> | undefined;
  try {
    const { hostname, port } = new URL(target.url);
    const stormDevices = target.devices.slice(o.devices);
    const clients = await Promise.all(stormDevices.map((d) => LeanClient.connect({ host: hostname, port: Number(port), clientId: d.deviceId, username: d.deviceId, password: d.secret })));
    const stormAcks: number[] = [];
    let stormAt = 0;
    let stormTimer: NodeJS.Timeout | undefined;
    let before = processUsage(target.pid);
    let postgresBefore = postgres ? postgresCpuSeconds(postgres.pid) : 0;
    const fire = () => {
      stormAt = performance.now();
      if (postgres) polled = pollAlerts(postgres.url, stormAt, o.patients, Date.now() + ALERT_WAIT_MS);
      const time = new Date().toISOString();
      for (const [i, c] of clients.entries()) {
        c.onAck((publishedAt) => stormAcks.push(performance.now() - publishedAt));
        c.publish(`rpm/v1/devices/${stormDevices[i]!.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time, systolic: 195, diastolic: 110, id: 'storm' }));
      }
    };
    const load = await runLoad({
      url: target.url,
      devices: target.devices.slice(0, o.devices),
      perDevice: Math.ceil((o.rate * o.seconds) / o.devices),
      window: 20,
      payload: benchPayload,
      ratePerSecond: o.rate,
      warmUpPerDevice: 2_000,
      afterWarmUp: async () => {
        // The warm-up's readings stored first, so that the storm meets a Vigil at its paced rate, not a backlog.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        before = processUsage(target.pid);
        if (postgres) postgresBefore = postgresCpuSeconds(postgres.pid);
        stormTimer = setTimeout(fire, (o.seconds * 1000) / 3);
      },
    });
    clearTimeout(stormTimer);
    if (stormAt === 0) throw new Error('bench: the paced load ended before the storm was sent');
    const deadline = Date.now() + ALERT_WAIT_MS;
    while (hook.openedAt.size < o.patients && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    const after = processUsage(target.pid);
    const postgresAfter = postgres ? postgresCpuSeconds(postgres.pid) : 0;
    const inPostgres = polled && withMax(await polled);
    await Promise.all(clients.map((c) => c.end()));
    const alertTimes = [...hook.openedAt.values()].map((t) => t - stormAt);
    const lastAlert = Math.max(...alertTimes, 0);
    // The load's timeline counts from its own start.
    const stormFrom = stormAt - load.startedAt;
    const duringMs = Math.max(1_000, lastAlert);
    const pubacks = (from: number, to: number) => load.timeline.filter((m) => m.publishedAt >= from && m.publishedAt < to).map((m) => m.ackedAt - m.publishedAt);
    return {
      o,
      stormPuback: withMax(stormAcks),
      alertMs: withMax(alertTimes),
      alertsReceived: hook.openedAt.size,
      before: withMax(pubacks(0, stormFrom)),
      during: withMax(pubacks(stormFrom, stormFrom + duringMs)),
      duringMs,
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
      inPostgres,
      postgresCpuSeconds: postgres && postgresAfter - postgresBefore,
    };
  } finally {
    await polled?.catch(() => undefined);
    await target.stop();
    await hook.close();
    await postgres?.stop();
  }
}

const ms = (v: number) => v.toLocaleString('en', { maximumFractionDigits: v < 100 ? 1 : 0 });
const dist = (s: Summary & { max: number }) => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`;

export function stormTable(r: StormResult): string {
  const { o } = r;
  const receiver = o.receiverDelayMs > 0 ? `the webhook receiver answering each delivery after ${o.receiverDelayMs} ms` : 'the webhook receiver answering at once';
  return [
    `${o.shared ? 'Shared alerts (PostgreSQL)' : 'Embedded alerts'}, ${receiver}:`,
    '',
    '| measure | p50 / p99 / max (ms) | n |',
    '|---|---|---|',
    `| crisis reading, publish to PUBACK | ${dist(r.stormPuback)} | ${r.stormPuback.n.toLocaleString('en')} |`,
    `| storm to alert.opened at the webhook receiver | ${dist(r.alertMs)} | ${r.alertsReceived} of ${o.patients} |`,
    `| other devices' publish to PUBACK, before the storm | ${dist(r.before)} | ${r.before.n.toLocaleString('en')} |`,
    `| other devices' publish to PUBACK, during the storm (${ms(r.duringMs / 1000)} s) | ${dist(r.during)} | ${r.during.n.toLocaleString('en')} |`,
    ...(r.inPostgres ? [`| storm to the alert committed in PostgreSQL (polled every 20 ms) | ${dist(r.inPostgres)} | ${r.inPostgres.n} of ${o.patients} |`] : []),
    '',
    `Vigil's CPU over the paced load: ${r.cpuSeconds.toFixed(1)} s${r.postgresCpuSeconds === undefined ? '' : `; PostgreSQL's: ${r.postgresCpuSeconds.toFixed(1)} s`}.`,
  ].join('\n');
}
