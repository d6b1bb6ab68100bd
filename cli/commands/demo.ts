import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { VigilError, type Programme, type Reading } from '../../domain/index.js';
import { Fleet, type Condition, type DeviceModel, type Episode, type HistoryTrend, type SimulatedDeviceSpec } from '../../simulators/index.js';
import type { Vigil } from '../../app/vigil.js';
import { ARG, examples } from '../args.js';
import { claimForDemo, DEMO_DATA_DIR } from '../demo-data-dir.js';
import { action, configFrom } from '../run.js';
import { demoMeasureAdherence, startDemoCare } from './demo-care.js';
import { playDemoStories } from './demo-stories.js';
import { addServerOptions, runUntilSignal, serverOverrides, type ServerOptions } from './start.js';

interface DemoDevice {
  readonly model: DeviceModel;
  readonly episode?: Episode;
  readonly trend?: HistoryTrend;
  /** Days of history uploaded at start, as a phone hub would after being offline. */
  readonly backfillDays?: number;
}

/**
 * The demo cohort: one patient per programme, each with the devices that programme sends home, and a course
 * that crosses at least one of the programme's rules (see docs/alerts.md).
 */
const COHORT: readonly { id: string; name: string; condition: Condition; programmes: Programme[]; careTeam: string; presets?: string[]; devices: DemoDevice[] }[] = [
  {
    id: 'demo-hypertension',
    careTeam: 'cardiology',
    name: 'Demo Patient A (hypertension)',
    condition: 'hypertension',
    programmes: ['hypertension'],
    // A week of home readings averaging about 148/92 (7-day average rule), and a crisis now and then.
    devices: [{ model: 'bp_cuff', backfillDays: 7, episode: { kind: 'hypertensive_crisis', every: 40, length: 2 } }],
  },
  {
    id: 'demo-diabetes',
    careTeam: 'diabetes-clinic',
    name: 'Demo Patient B (type 2 diabetes)',
    condition: 'type2_diabetes',
    programmes: ['diabetes'],
    devices: [{ model: 'glucose_meter', backfillDays: 7 }, { model: 'cgm', backfillDays: 2, episode: { kind: 'hypoglycaemia', every: 24, length: 8 } }],
  },
  {
    id: 'demo-heart-failure',
    careTeam: 'cardiology',
    name: 'Demo Patient C (heart failure)',
    condition: 'heart_failure',
    programmes: ['heart_failure'],
    // Weight rising 0.5 kg a day for a week: more than 2.3 kg in 7 days.
    devices: [{ model: 'scale', backfillDays: 8, trend: { weightGainPerDay: 0.5 } }, { model: 'bp_cuff', backfillDays: 7 }],
  },
  {
    id: 'demo-copd',
    careTeam: 'community',
    name: 'Demo Patient D (COPD)',
    condition: 'copd',
    programmes: ['copd'],
    presets: ['spo2.copd_target'],
    devices: [{ model: 'pulse_oximeter', backfillDays: 3, episode: { kind: 'desaturation', every: 12, length: 3 } }, { model: 'thermometer' }],
  },
  {
    id: 'demo-healthy',
    careTeam: 'community',
    name: 'Demo Patient E (recovering after a fall)',
    condition: 'healthy',
    programmes: [],
    // Five weeks of steps, the last one at 40 % of before: a sustained drop in activity.
    devices: [{ model: 'activity_tracker', backfillDays: 35, trend: { recentActivityFactor: 0.4 } }],
  },
];

const backfill = new Map<string, number>();

async function provisionCohort(vigil: Vigil): Promise<SimulatedDeviceSpec[]> {
  const { registry } = vigil;
  const specs: SimulatedDeviceSpec[] = [];
  let seed = 1;
  for (const patient of COHORT) {
    if (!registry.getPatient(patient.id)) await registry.addPatient({ id: patient.id, name: patient.name, programmes: patient.programmes, careTeam: patient.careTeam });
    else await registry.setCareTeam(patient.id, patient.careTeam);
    // The care team's per-patient choices (a COPD patient's 88-92 % target is set by a clinician, not the programme).
    for (const preset of patient.presets ?? []) {
      if (!vigil.alerts.queries.overridesOf(patient.id).some((o) => o.preset === preset)) await vigil.alerts.actions.applyPreset(patient.id, preset, { name: 'demo', origin: 'cli' });
    }
    for (const { model, episode, trend, backfillDays } of patient.devices) {
      const deviceId = `${patient.id}-${model.replace(/_/g, '-')}`;
      // Demo devices get a fresh secret at every start: secrets exist only in this process and the hash.
      const secret = registry.getDevice(deviceId)
        ? await registry.rotateSecret(deviceId)
        : (await registry.addDevice({ patientId: patient.id, id: deviceId })).secret;
      // One device in the cohort is faulty now and then, to show rejections with their reasons.
      specs.push({ deviceId, secret, model, condition: patient.condition, seed: seed++, badReadingRate: model === 'thermometer' ? 0.15 : 0, episode, trend, adherence: demoMeasureAdherence(patient.programmes[0], model) });
      backfill.set(deviceId, backfillDays ?? 0);
    }
  }
  return specs;
}

/**
 * The demo's two dashboard accounts, with passwords made for this run and printed at start-up (outside the
 * demo there is no account until an administrator creates one with "vigil users add").
 */
async function demoUsers(vigil: Vigil): Promise<{ username: string; password: string; role: string }[]> {
  const teams = [...new Set(COHORT.map((p) => p.careTeam))];
  const accounts = [
    { username: 'clinician', displayName: 'Dr Demo Clinician', role: 'clinician' as const, careTeams: teams },
    { username: 'admin', displayName: 'Demo Administrator', role: 'admin' as const, careTeams: [] },
  ];
  const result = [];
  for (const account of accounts) {
    const password = randomBytes(12).toString('base64url');
    if (await vigil.users.byUsername(account.username)) {
      await vigil.users.change(account.username, { role: account.role, careTeams: account.careTeams, disabled: false, password });
    } else {
      await vigil.users.add({ ...account, password });
    }
    result.push({ username: account.username, password, role: account.role });
  }
  return result;
}

function countByType(readings: readonly Reading[]): string {
  const counts = new Map<string, number>();
  for (const r of readings) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${t} ${n}`).join(', ');
}

export function registerDemo(program: Command): void {
  addServerOptions(
    examples(
      program
        .command('demo')
        .description('run Vigil with a small simulated fleet on this machine (embedded broker and storage, no external service; data in ./demo-data)')
        .option('--interval <seconds>', 'mean seconds between two readings of one device', ARG.seconds, 5),
      'vigil demo',
      'vigil demo --interval 1 --mqtt-port 1884 --http-port 8081',
    ),
  ).action(
    action(async (opts: ServerOptions & { interval: number }) => {
      // The demo's API token exists only for this run and is printed below, unless one is given (directly or
      // as VIGIL_ADMIN_TOKEN_FILE, which then reaches the configuration alone).
      const given = process.env.VIGIL_ADMIN_TOKEN !== undefined || process.env.VIGIL_ADMIN_TOKEN_FILE !== undefined;
      const config = configFrom({
        ...serverOverrides(opts),
        VIGIL_ADMIN_TOKEN: given ? undefined : randomBytes(24).toString('hex'),
        VIGIL_DATA_DIR: opts.dataDir ?? process.env.VIGIL_DATA_DIR ?? DEMO_DATA_DIR,
        VIGIL_BIND_HOST: opts.host ?? process.env.VIGIL_BIND_HOST ?? '127.0.0.1',
        VIGIL_LOG_LEVEL: process.env.VIGIL_LOG_LEVEL ?? 'warn',
      });
      if (config.broker) {
        // The demo's fleet and stories connect to the embedded broker; an external one would need their
        // credentials provisioned there first.
        throw new VigilError('VIGIL_ERR_CONFIG', 'VIGIL_BROKER_URL: the demo runs its embedded broker; unset it (for worker mode, run `vigil start` with it and `vigil simulate --url <your broker>`)');
      }
      const adminToken = config.adminToken ?? '';
      claimForDemo(config.dataDir);
      let stored: Reading[] = [];
      await runUntilSignal('demo', config, { onStored: (readings) => void stored.push(...readings) }, async (vigil) => {
        const specs = await provisionCohort(vigil);
        const accounts = await demoUsers(vigil);
        const yours = vigil.registry.getDevice('demo-your-device')
          ? { device: { id: 'demo-your-device' }, secret: await vigil.registry.rotateSecret('demo-your-device') }
          : await vigil.registry.addDevice({ patientId: 'demo-healthy', id: 'demo-your-device' });
        const fleet = new Fleet(specs, {
          url: `mqtt://127.0.0.1:${vigil.mqttPort}`,
          topicPrefix: config.topicPrefix,
          intervalMs: opts.interval * 1000,
          onError: (deviceId, err) => process.stderr.write(`device ${deviceId}: ${err.message}\n`),
        });
        await fleet.start();
        // Listening before the backfill: the alerts the uploaded history opens are part of the story.
        vigil.alerts.feed.on('event', (event) => {
          if (event.type === 'alert.updated') return;
          const a = event.alert;
          const time = new Date(event.at).toISOString().slice(11, 19);
          const what = event.type === 'alert.renotified' ? `AGAIN:${event.change}` : event.type.replace('alert.', '').toUpperCase();
          const since = event.type === 'alert.back_in_range' && a.clearSince ? ` (back in range since ${new Date(a.clearSince).toISOString().slice(11, 16)}; waits for a person)` : '';
          process.stdout.write(`${time}  ${what.padEnd(13)} ${a.severity.padEnd(8)} ${a.patientId}  ${a.message}${since}\n`);
        });
        const backfilled = await Promise.all(fleet.devices.map((d) => d.backfill(backfill.get(d.spec.deviceId) ?? 0)));
        const hubApps = await startDemoCare(vigil, fleet, { url: `mqtt://127.0.0.1:${vigil.mqttPort}`, topicPrefix: config.topicPrefix }, COHORT);
        const storyDevices = await playDemoStories(vigil, { url: `mqtt://127.0.0.1:${vigil.mqttPort}`, topicPrefix: config.topicPrefix });
        const topic = `${config.topicPrefix}/devices/${yours.device.id}`;
        const store = config.influx ? `InfluxDB ${config.influx.url} (database ${config.influx.database})` : `embedded SQLite in ${config.dataDir}`;
        process.stdout.write(
          [
            '',
            `Vigil demo: ${specs.length} simulated devices for ${COHORT.length} patients (${backfilled.reduce((a, b) => a + b, 0)} readings of history uploaded), storing in ${store}.`,
            `  MQTT            mqtt://127.0.0.1:${vigil.mqttPort}   (WebSocket: ws://127.0.0.1:${vigil.httpPort}/mqtt)`,
            `  Health          http://127.0.0.1:${vigil.httpPort}/readyz   Metrics: http://127.0.0.1:${vigil.httpPort}/metrics`,
            '',
            `Dashboard: http://127.0.0.1:${vigil.httpPort}/   (API docs: http://127.0.0.1:${vigil.httpPort}/api/docs)`,
            ...accounts.map((a) => `  log in as ${a.username.padEnd(10)} password ${a.password}   (${a.role}; this run only)`),
            '',
            'Connect a device of your own (provisioned as demo-your-device for patient demo-healthy):',
            `  mosquitto_sub -h 127.0.0.1 -p ${vigil.mqttPort} -i ${yours.device.id}.errors -u ${yours.device.id} -P '${yours.secret}' -t '${topic}/errors' -q 1 &`,
            `  mosquitto_pub -h 127.0.0.1 -p ${vigil.mqttPort} -i ${yours.device.id} -u ${yours.device.id} -P '${yours.secret}' -q 1 -t '${topic}/readings' \\`,
            `    -m '{"type":"blood_pressure","time":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'","systolic":128,"diastolic":82,"pulse":70}'`,
            `  npx vigil readings --data-dir ${config.dataDir} --patient demo-healthy --type blood_pressure --since 1h`,
            '',
            'Care loop: each programme patient has a hub app (<patient>-hub) following a plan and medications with its own',
            "adherence; the patient page's care panel shows the figures and the message thread:",
            `  npx vigil plans show demo-heart-failure --data-dir ${config.dataDir}`,
            '',
            'Alerts are printed below as they open, notify AGAIN (a new fall, a worse value, a reminder), escalate, come',
            'BACK_IN_RANGE (a critical alert then waits for a person) and resolve; through the API:',
            `  curl -s -H 'Authorization: Bearer ${adminToken}' http://127.0.0.1:${vigil.httpPort}/api/alerts`,
            `  npx vigil alerts list --data-dir ${config.dataDir}`,
            '',
            'Press Ctrl+C to stop.',
            '',
          ].join('\n'),
        );
        const progress = setInterval(() => {
          const batch = stored;
          stored = [];
          const s = fleet.stats();
          const h = vigil.ingest.health();
          const time = new Date().toISOString().slice(11, 19);
          process.stdout.write(
            `${time}  stored ${batch.length} readings${batch.length ? ` (${countByType(batch)})` : ''}; ` +
              `fleet total: ${s.acknowledged} acknowledged, ${s.rejected} rejected; outbox ${h.outboxDepth}\n`,
          );
        }, 10_000);
        return async () => {
          clearInterval(progress);
          await fleet.stop();
          await Promise.all(storyDevices.map((d) => d.stop()));
          await Promise.all(hubApps.map((a) => a.stop()));
        };
      });
    }),
  );
}
