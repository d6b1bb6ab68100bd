import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AlertStore } from '../../alerts/index.js';
import { openState } from '../../app/state.js';
import { withEngine } from './alerts.js';
import { VigilError, type Programme } from '../../domain/index.js';
import { InfluxStore, SqliteStore, type ReadingStore } from '../../ingest/index.js';
import { Fleet, PROFILES, SCENARIOS, SimulatedDevice, findScenario, type Condition, type DeviceModel, type Expectation, type SimulatedDeviceSpec } from '../../simulators/index.js';
import { action, configFrom } from '../run.js';

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
  scenario?: string;
  list?: boolean;
  verify?: boolean;
  patients: string;
  condition: string;
  interval: string;
  duration: string;
  backfillDays: string;
  url?: string;
  timeout: string;
  seed: string;
  dataDir?: string;
  ca?: string;
}

/**
 * Provisions simulated patients and devices in the data dir of the Vigil they will talk to (a developer tool:
 * it runs beside the server), then speaks to it only over MQTT, as real devices do.
 */
async function provision(dataDir: string, condition: Condition, programmes: readonly Programme[], models: DeviceModel[], prefix: string, seed: number) {
  const { db, registry } = openState(dataDir);
  try {
    const patient = registry.addPatient({ id: `${prefix}-${randomBytes(3).toString('hex')}`, name: `Simulated ${condition} patient`, programmes });
    const specs: SimulatedDeviceSpec[] = [];
    for (const [i, model] of models.entries()) {
      const { device, secret } = await registry.addDevice({ patientId: patient.id, id: `${patient.id}-${model.replace(/_/g, '-')}` });
      specs.push({ deviceId: device.id, secret, model, condition, seed: seed + i });
    }
    return { patientId: patient.id, specs };
  } finally {
    db.close();
  }
}

async function verify(dataDir: string, store: ReadingStore, patientId: string, device: SimulatedDevice, refusals: string[], expects: readonly Expectation[], timeoutMs: number): Promise<boolean> {
  const { db } = openState(dataDir);
  const alerts = new AlertStore(db);
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

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run simulated devices against a Vigil on this machine: a fleet, or a named scenario (--verify checks the outcome)')
    .option('--scenario <name>', `run one scenario: ${SCENARIOS.map((s) => s.name).join(', ')}`)
    .option('--list', 'list the scenarios with what Vigil should do')
    .option('--verify', 'with --scenario: check that Vigil did what the scenario expects; exit 1 if not')
    .option('--patients <n>', 'fleet: simulated patients', '5')
    .option('--condition <condition>', `fleet: ${Object.keys(PROFILES).join(', ')}, or mixed`, 'mixed')
    .option('--interval <seconds>', 'fleet: mean seconds between two readings of one device', '5')
    .option('--duration <seconds>', 'fleet: stop after this long', '60')
    .option('--backfill-days <days>', 'fleet: days of history each device uploads first', '0')
    .option('--url <url>', 'gateway URL: mqtt://, mqtts:// or ws://host:port/mqtt (default: mqtt://127.0.0.1:$VIGIL_MQTT_PORT)')
    .option('--ca <file>', 'PEM certificate to trust for mqtts:// (a self-signed test certificate)')
    .option('--timeout <seconds>', 'with --verify: how long to wait for the outcome', '45')
    .option('--seed <n>', 'random seed (same seed, same fleet)', '1')
    .option('--data-dir <dir>', 'data directory of the Vigil under test, where simulated devices are provisioned (VIGIL_DATA_DIR)')
    .action(
      action(async (opts: SimulateOptions) => {
        if (opts.list) {
          for (const s of SCENARIOS) {
            process.stdout.write(`${s.name}\n  ${s.summary}\n  expects: ${s.expects.map((e) => (e.kind === 'alert' ? `${e.ruleId} ${e.severity}` : e.kind === 'rejection' ? e.code : e.kind === 'stored' ? `${e.count} ${e.type} stored` : `refused ${e.what}`)).join('; ')}\n`);
          }
          return;
        }
        const config = configFrom({ VIGIL_DATA_DIR: opts.dataDir });
        const url = opts.url ?? `mqtt://127.0.0.1:${config.mqttPort}`;
        const conn = { url, topicPrefix: config.topicPrefix, ca: opts.ca ? readFileSync(opts.ca) : undefined };
        const seed = Number(opts.seed);
        if (opts.scenario) {
          const scenario = findScenario(opts.scenario);
          if (!scenario) throw new VigilError('VIGIL_ERR_CONFIG', `unknown scenario "${opts.scenario}" (see vigil simulate --list)`);
          const { patientId, specs } = await provision(config.dataDir, scenario.patient.condition, scenario.patient.programmes, [scenario.model], `sim-${scenario.name}`, seed);
          const overrides = Object.entries(scenario.overrides ?? {});
          if (overrides.length > 0) {
            await withEngine(config.dataDir, (engine) => {
              for (const [ruleId, override] of overrides) engine.setOverride(patientId, ruleId, override, 'vigil-simulate');
            });
          }
          const device = new SimulatedDevice(specs[0]!, conn);
          const refusals: string[] = [];
          process.stdout.write(`scenario ${scenario.name}: ${scenario.summary}\n  patient ${patientId}, device ${specs[0]!.deviceId}\n`);
          await device.start();
          try {
            await scenario.run(device, { conn, observe: (what) => refusals.push(what) });
            if (!opts.verify) return;
            const store: ReadingStore = config.influx ? await InfluxStore.open(config.influx) : new SqliteStore(config.dataDir);
            const ok = await verify(config.dataDir, store, patientId, device, refusals, scenario.expects, Number(opts.timeout) * 1000).finally(() => store.close());
            process.stdout.write(ok ? 'PASS\n' : 'FAIL\n');
            if (!ok) process.exitCode = 1;
          } finally {
            await device.stop().catch(() => undefined);
          }
          return;
        }
        const conditions = opts.condition === 'mixed' ? (Object.keys(PROFILES) as Condition[]) : [opts.condition as Condition];
        if (!conditions.every((c) => c in PROFILES)) throw new VigilError('VIGIL_ERR_CONFIG', `--condition must be one of ${Object.keys(PROFILES).join(', ')} or mixed`);
        const specs: SimulatedDeviceSpec[] = [];
        for (let i = 0; i < Number(opts.patients); i++) {
          const condition = conditions[i % conditions.length]!;
          specs.push(...(await provision(config.dataDir, condition, PROGRAMMES_FOR[condition], DEVICES_FOR[condition], 'sim', seed + i * 10)).specs);
        }
        const fleet = new Fleet(specs, { ...conn, intervalMs: Number(opts.interval) * 1000, onError: (id, err) => process.stderr.write(`device ${id}: ${err.message}\n`) });
        await fleet.start();
        const backfilled = await Promise.all(fleet.devices.map((d) => d.backfill(Number(opts.backfillDays))));
        process.stdout.write(`fleet: ${specs.length} devices for ${opts.patients} patients on ${url}; ${backfilled.reduce((a, b) => a + b, 0)} readings of history uploaded\n`);
        const started = Date.now();
        const progress = setInterval(() => {
          const s = fleet.stats();
          process.stdout.write(`${Math.round((Date.now() - started) / 1000)} s: ${s.acknowledged} acknowledged, ${s.rejected} rejected\n`);
        }, 5000);
        await new Promise((resolve) => setTimeout(resolve, Number(opts.duration) * 1000));
        clearInterval(progress);
        await fleet.stop();
        const s = fleet.stats();
        process.stdout.write(`done: ${s.published} published, ${s.acknowledged} acknowledged, ${s.rejected} rejected\n`);
      }),
    );
}
