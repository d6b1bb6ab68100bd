import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AlertTable } from '../../alerts/index.js';
import { openState } from '../../app/state.js';
import { withAlerts } from './alerts.js';
import { provisionSimulatedAtBroker } from './broker-logins.js';
import { VigilError, type Programme } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { Fleet, PROFILES, SCENARIOS, SimulatedDevice, findScenario, runFleetLoad, type Condition, type DeviceModel, type Expectation, type SimulatedDeviceSpec } from '../../simulators/index.js';
import { z } from 'zod';
import { ARG, examples, oneOf, parsedBy } from '../args.js';
import { CommandFailed, UsageError } from '../failure.js';
import { action } from '../run.js';
import { stateConfig } from '../state-config.js';
import { withState } from '../with-state.js';

const gatewayUrl = parsedBy(z.url({ protocol: /^(mqtts?|wss?)$/ }), 'an mqtt://, mqtts://, ws:// or wss:// URL, e.g. mqtt://127.0.0.1:1883');
const httpUrl = parsedBy(z.url({ protocol: /^https?$/ }), 'an http:// or https:// URL, e.g. http://127.0.0.1:8080');

const DEVICES_FOR: Record<Condition, DeviceModel[]> = {
  hypertension: ['bp_cuff'],
  type1_diabetes: ['cgm', 'glucose_meter'],
  type2_diabetes: ['glucose_meter'],
  heart_failure: ['scale', 'bp_cuff'],
  copd: ['pulse_oximeter', 'thermometer'],
  healthy: ['activity_tracker'],
};
const PROGRAMMES_FOR: Record<Condition, Programme[]> = {
  hypertension: ['hypertension'],
  type1_diabetes: ['diabetes'],
  type2_diabetes: ['diabetes'],
  heart_failure: ['heart_failure'],
  copd: ['copd'],
  healthy: [],
};

interface SimulateOptions {
  load?: boolean;
  devices: number;
  rate: number;
  count?: number;
  probes: number;
  httpUrl?: string;
  scenario?: string;
  list?: boolean;
  verify?: boolean;
  patients: number;
  condition: Condition | 'mixed';
  interval: number;
  duration: number;
  backfillDays: number;
  speed: number;
  hubs?: boolean;
  url?: string;
  timeout: number;
  seed: number;
  dataDir?: string;
  ca?: string;
}

/**
 * Provisions simulated patients and devices in the data dir of the Vigil they will talk to (a developer tool:
 * it runs beside the server), then speaks to it only over MQTT, as real devices do.
 */
async function provision(dataDir: string, condition: Condition, programmes: readonly Programme[], models: DeviceModel[], prefix: string, seed: number) {
  // withState: with VIGIL_DATABASE_URL the simulated fleet goes into the shared registry.
  return withState({ dataDir }, async ({ registry }) => {
    const patient = await registry.addPatient({ id: `${prefix}-${randomBytes(3).toString('hex')}`, name: `Simulated ${condition} patient`, programmes });
    const specs: SimulatedDeviceSpec[] = [];
    for (const [i, model] of models.entries()) {
      const { device, secret } = await registry.addDevice({ patientId: patient.id, id: `${patient.id}-${model.replace(/_/g, '-')}` });
      specs.push({ deviceId: device.id, secret, model, condition, seed: seed + i });
    }
    return { patientId: patient.id, specs };
  });
}

async function verify(dataDir: string, store: ReadingStore, patientId: string, device: SimulatedDevice, refusals: string[], expects: readonly Expectation[], timeoutMs: number): Promise<boolean> {
  const { db } = openState(dataDir);
  const alerts = new AlertTable(db);
  const check = async (e: Expectation): Promise<string | undefined> => {
    switch (e.kind) {
      case 'alert': {
        const found = alerts.list({ patientId }).find((a) => a.ruleId === e.ruleId);
        if (!found) return `no ${e.ruleId} alert`;
        return found.severity === e.severity ? undefined : `${e.ruleId} is ${found.severity}, expected ${e.severity}`;
      }
      case 'rejection':
        return device.stats.rejections.some((r) => r.code === e.code) ? undefined : `no ${e.code} on the errors topic`;
      case 'stored': {
        const points = await store.queryRaw({ patientId, type: e.type, from: 0, to: Date.now() + 3_600_000 });
        return points.length === e.count ? undefined : `${points.length} ${e.type} readings stored, expected ${e.count}`;
      }
      case 'refused':
        return refusals.includes(e.what) ? undefined : `not refused: ${e.what}`;
    }
  };
  try {
    const deadline = Date.now() + timeoutMs;
    let failures: (string | undefined)[] = [];
    for (;;) {
      failures = await Promise.all(expects.map(check));
      if (failures.every((f) => f === undefined) || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expects.forEach((e, i) => {
      const what = e.kind === 'alert' ? `alert ${e.ruleId} (${e.severity})` : e.kind === 'rejection' ? `rejection ${e.code}` : e.kind === 'stored' ? `${e.count} ${e.type} stored` : `refused: ${e.what}`;
      process.stdout.write(`  ${failures[i] ? 'FAIL' : 'ok  '}  ${what}${failures[i] ? ` (${failures[i]})` : ''}\n`);
    });
    return failures.every((f) => f === undefined);
  } finally {
    db.close();
  }
}

/**
 * Connects a simulated device, or explains why it cannot: the gateway refused it (not provisioned in the data
 * dir of this Vigil?), or nothing answers at the URL. A device that never connects is stopped, not left retrying.
 */
async function connectOrExplain(device: SimulatedDevice, url: string, dataDir: string): Promise<void> {
  const timeoutMs = 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      device.start(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CommandFailed(`no MQTT answer from ${url} within ${timeoutMs / 1000} s: is Vigil running there? (--url sets the gateway)`)), timeoutMs);
      }),
    ]);
  } catch (err) {
    await device.abort();
    const code = (err as { code?: unknown }).code;
    if (code === 4 || code === 5) {
      throw new CommandFailed(`the gateway at ${url} refused device ${device.spec.deviceId} (CONNACK ${code}): it was provisioned in ${dataDir}, which is not the data dir of the Vigil listening there; give that Vigil's --data-dir, or run this command from the directory where it runs`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

export function registerSimulate(program: Command): void {
  examples(
    program.command('simulate'),
    'vigil simulate --list',
    'vigil simulate --scenario hypoglycaemia --verify',
    'vigil simulate --patients 3 --condition heart_failure --duration 120 --backfill-days 7',
    'vigil simulate --load --devices 2000 --rate 1000 --duration 60',
  )
    .description('run simulated devices against a Vigil on this machine: a fleet, or a named scenario (--verify checks the outcome)')
    .option('--load', 'load mode: many devices at a target rate; reports throughput, PUBACK and alert latency, memory')
    .option('--devices <n>', 'load: devices', ARG.count, 1000)
    .option('--rate <per-second>', 'load: readings per second over the whole fleet', ARG.count, 500)
    .option('--count <n>', 'load: stop after this many readings (default: at the end of --duration)', ARG.count)
    .option('--probes <n>', 'load: crisis readings from distinct patients, to time reading-to-alert', ARG.countOrZero, 20)
    .option('--http-url <url>', "load: Vigil's HTTP URL for its memory (default: http://127.0.0.1:$VIGIL_HTTP_PORT)", httpUrl)
    .option('--scenario <name>', `run one scenario: ${SCENARIOS.map((s) => s.name).join(', ')}`, oneOf(SCENARIOS.map((s) => s.name) as [string, ...string[]]))
    .option('--list', 'list the scenarios with what Vigil should do')
    .option('--verify', 'with --scenario: check that Vigil did what the scenario expects; exit 1 if not')
    .option('--patients <n>', 'fleet: simulated patients', ARG.count, 5)
    .option('--condition <condition>', `fleet: ${Object.keys(PROFILES).join(', ')}, or mixed`, oneOf(['mixed', ...Object.keys(PROFILES)] as [string, ...string[]]), 'mixed')
    .option('--interval <seconds>', 'fleet: mean seconds between two readings of one device', ARG.seconds, 5)
    .option('--duration <seconds>', 'fleet: stop after this long', ARG.seconds, 60)
    .option('--backfill-days <days>', 'fleet: days of history each device uploads first', ARG.countOrZero, 0)
    .option('--hubs', "fleet: relay each patient's devices through a phone hub that loses its network now and then and uploads backlogs")
    .option('--speed <factor>', 'fleet: simulated time runs this much faster (e.g. 1000: a week in 10 minutes), ending at the present', ARG.factor, 1)
    .option('--url <url>', 'gateway URL: mqtt://, mqtts:// or ws://host:port/mqtt (default: $VIGIL_BROKER_URL in worker mode, else the Vigil running from this directory, else mqtt://127.0.0.1:$VIGIL_MQTT_PORT)', gatewayUrl)
    .option('--ca <file>', 'PEM certificate to trust for mqtts:// (a self-signed test certificate)')
    .option('--timeout <seconds>', 'with --verify: how long to wait for the outcome', ARG.seconds, 45)
    .option('--seed <n>', 'random seed (same seed, same fleet)', ARG.seed, 1)
    .option('--data-dir <dir>', 'data directory of the Vigil under test, where simulated devices are provisioned (default: $VIGIL_DATA_DIR, else that of the Vigil running from this directory, else ./data)')
    .action(
      action(async (opts: SimulateOptions) => {
        if (opts.list) {
          for (const s of SCENARIOS) {
            process.stdout.write(`${s.name}\n  ${s.summary}\n  expects: ${s.expects.map((e) => (e.kind === 'alert' ? `${e.ruleId} ${e.severity}` : e.kind === 'rejection' ? e.code : e.kind === 'stored' ? `${e.count} ${e.type} stored` : `refused ${e.what}`)).join('; ')}\n`);
          }
          return;
        }
        if (opts.verify && !opts.scenario) throw new UsageError('--verify checks a scenario: give --scenario <name> too (see vigil simulate --list)');
        const config = stateConfig(opts.dataDir);
        // Worker mode: the devices talk to the external broker, as real ones do.
        const url = opts.url ?? config.broker?.url ?? `mqtt://127.0.0.1:${config.mqttPort}`;
        const conn = { url, topicPrefix: config.topicPrefix, ca: opts.ca ? readFileSync(opts.ca) : undefined };
        const seed = opts.seed;
        if (opts.scenario) {
          const scenario = findScenario(opts.scenario);
          if (!scenario) throw new UsageError(`unknown scenario "${opts.scenario}" (see vigil simulate --list)`);
          const { patientId, specs } = await provision(config.dataDir, scenario.patient.condition, scenario.patient.programmes, [scenario.model], `sim-${scenario.name}`, seed);
          await provisionSimulatedAtBroker(config, specs);
          const overrides = Object.entries(scenario.overrides ?? {});
          const presets = scenario.presets ?? [];
          if (overrides.length > 0 || presets.length > 0) {
            await withAlerts(config.dataDir, async (alerts) => {
              const by = { name: 'vigil-simulate', origin: 'cli' };
              const reason = `scenario ${scenario.name}: plays out in seconds rather than days`;
              for (const [ruleId, override] of overrides) await alerts.actions.setOverride(patientId, ruleId, override, by, { reason });
              for (const preset of presets) await alerts.actions.applyPreset(patientId, preset, by, { reason: `scenario ${scenario.name}: the care team's choice` });
            });
          }
          const device = new SimulatedDevice(specs[0]!, conn);
          const refusals: string[] = [];
          process.stdout.write(`scenario ${scenario.name}: ${scenario.summary}\n  patient ${patientId}, device ${specs[0]!.deviceId}\n`);
          await connectOrExplain(device, url, config.dataDir);
          try {
            await scenario.run(device, { conn, observe: (what) => refusals.push(what) });
            if (!opts.verify) return;
            const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
            const ok = await verify(config.dataDir, store, patientId, device, refusals, scenario.expects, opts.timeout * 1000).finally(() => store.close());
            process.stdout.write(ok ? 'PASS\n' : 'FAIL\n');
            if (!ok) process.exitCode = 1;
          } finally {
            await device.stop().catch(() => undefined);
          }
          return;
        }
        if (opts.load) {
          await runLoadMode(opts, config, conn);
          return;
        }
        const conditions = opts.condition === 'mixed' ? (Object.keys(PROFILES) as Condition[]) : [opts.condition];
        const specs: SimulatedDeviceSpec[] = [];
        for (let i = 0; i < opts.patients; i++) {
          const condition = conditions[i % conditions.length]!;
          const { patientId, specs: patientDevices } = await provision(config.dataDir, condition, PROGRAMMES_FOR[condition], DEVICES_FOR[condition], 'sim', seed + i * 10);
          specs.push(...patientDevices.map((d) => (opts.hubs ? { ...d, hub: `hub-${patientId}` } : d)));
        }
        await provisionSimulatedAtBroker(config, specs);
        const fleet = new Fleet(specs, { ...conn, intervalMs: opts.interval * 1000, speed: opts.speed, durationMs: opts.duration * 1000, hubOfflineChance: 0.15, onError: (id, err) => process.stderr.write(`device ${id}: ${err.message}\n`) });
        await fleet.start();
        const backfilled = await Promise.all(fleet.devices.map((d) => d.backfill(opts.backfillDays)));
        process.stdout.write(`fleet: ${specs.length} devices for ${opts.patients} patients on ${url}; ${backfilled.reduce((a, b) => a + b, 0)} readings of history uploaded\n`);
        const started = Date.now();
        const progress = setInterval(() => {
          const s = fleet.stats();
          process.stdout.write(`${Math.round((Date.now() - started) / 1000)} s: ${s.acknowledged} acknowledged, ${s.rejected} rejected\n`);
        }, 5000);
        await new Promise((resolve) => setTimeout(resolve, opts.duration * 1000));
        clearInterval(progress);
        await fleet.stop();
        const s = fleet.stats();
        process.stdout.write(`done: ${s.published} published, ${s.acknowledged} acknowledged, ${s.rejected} rejected${opts.hubs ? `, ${s.hubUploads} hub backlog uploads` : ''}\n`);
      }),
    );
}

async function provisionLoadDevices(dataDir: string, prefix: string, count: number): Promise<{ deviceId: string; secret: string; patientId: string }[]> {
  return withState({ dataDir }, async ({ registry }) => {
    const out: { deviceId: string; secret: string; patientId: string }[] = [];
    // Secrets are hashed with scrypt on the libuv thread pool: a few at a time keeps every core busy.
    for (let i = 0; i < count; i += 16) {
      const batch = Array.from({ length: Math.min(16, count - i) }, (_, k) => i + k);
      out.push(
        ...(await Promise.all(
          batch.map(async (n) => {
            const patientId = `${prefix}-p${n}`;
            const deviceId = `${prefix}-d${n}`;
            if (!registry.getPatient(patientId)) await registry.addPatient({ id: patientId, name: `Load patient ${n}` });
            const secret = registry.getDevice(deviceId) ? await registry.rotateSecret(deviceId) : (await registry.addDevice({ patientId, id: deviceId })).secret;
            return { deviceId, secret, patientId };
          }),
        )),
      );
    }
    return out;
  });
}

async function residentMiB(httpUrl: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`${httpUrl}/metrics`)).text();
    const bytes = /^process_resident_memory_bytes (\S+)/m.exec(text)?.[1];
    return bytes ? Number(bytes) / 2 ** 20 : undefined;
  } catch {
    return undefined;
  }
}

const ms = (v: number) => (Number.isNaN(v) ? '-' : `${v.toFixed(1)} ms`);

async function runLoadMode(opts: SimulateOptions, config: ReturnType<typeof stateConfig>, conn: { url: string; topicPrefix: string; ca?: Buffer | undefined }): Promise<void> {
  const devices = opts.devices;
  const rate = opts.rate;
  const httpUrl = opts.httpUrl ?? `http://127.0.0.1:${config.httpPort}`;
  process.stdout.write(`load: provisioning ${devices} devices and ${opts.probes} alert probes in ${config.dataDir}\n`);
  const fleet = await provisionLoadDevices(config.dataDir, 'load', devices);
  const run = randomBytes(3).toString('hex');
  const probes = await provisionLoadDevices(config.dataDir, `probe-${run}`, opts.probes);
  await provisionSimulatedAtBroker(config, [...fleet, ...probes]);
  const result = await runFleetLoad({
    ...conn,
    devices: fleet,
    probes,
    rate,
    durationMs: opts.duration * 1000,
    maxCount: opts.count,
    onProgress: (s) =>
      void residentMiB(httpUrl).then((rss) =>
        process.stdout.write(
          `${s.elapsedSeconds.toFixed(0)} s: ${s.acknowledged} acknowledged (${Math.round(s.ackedPerSecond)}/s), PUBACK p50 ${ms(s.puback.p50)} p99 ${ms(s.puback.p99)}, ${s.errors} errors${rss ? `, gateway RSS ${rss.toFixed(0)} MiB` : ''}\n`,
        ),
      ),
  });
  // Reading-to-alert: from publishing each probe's reading to its alert opening (state database, same clock).
  const { db } = openState(config.dataDir);
  const alertStore = new AlertTable(db);
  const latencies: number[] = [];
  const deadline = Date.now() + 15_000;
  try {
    for (;;) {
      latencies.length = 0;
      for (const probe of probes) {
        const sent = result.probeSentAt.get(probe.deviceId);
        const alert = alertStore.list({ patientId: probe.patientId }).find((a) => a.ruleId === 'bp.crisis');
        if (sent !== undefined && alert) latencies.push(Math.max(0, alert.openedAt - sent));
      }
      if (latencies.length >= result.probeSentAt.size || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } finally {
    db.close();
  }
  latencies.sort((a, b) => a - b);
  const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.max(0, Math.ceil((p / 100) * latencies.length) - 1))] ?? Number.NaN;
  const rss = await residentMiB(httpUrl);
  process.stdout.write(
    [
      `load done: ${devices} devices connected in ${result.connectSeconds.toFixed(1)} s`,
      `  published ${result.published}, acknowledged ${result.acknowledged} (${Math.round(result.ackedPerSecond)}/s over ${result.elapsedSeconds.toFixed(1)} s), errors ${result.errors}`,
      `  publish to PUBACK: p50 ${ms(result.puback.p50)}, p95 ${ms(result.puback.p95)}, p99 ${ms(result.puback.p99)}`,
      `  reading published to alert opened: p50 ${ms(pick(50))}, p99 ${ms(pick(99))} (${latencies.length} of ${result.probeSentAt.size} probes)`,
      `  gateway RSS: ${rss === undefined ? 'unknown (no /metrics at ' + httpUrl + ')' : `${rss.toFixed(0)} MiB`}`,
      '',
    ].join('\n'),
  );
  if (result.errors > 0 || latencies.length < result.probeSentAt.size) process.exitCode = 1;
}
