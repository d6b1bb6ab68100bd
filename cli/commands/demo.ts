import type { Command } from 'commander';
import type { Reading } from '../../domain/index.js';
import { Fleet, type DeviceModel, type Condition, type SimulatedDeviceSpec } from '../../simulators/index.js';
import type { Vigil } from '../../app/vigil.js';
import { action, configFrom } from '../run.js';
import { addServerOptions, runUntilSignal, serverOverrides, type ServerOptions } from './start.js';

/** The demo cohort: one patient per programme, each with the devices that programme sends home. */
const COHORT: readonly { id: string; name: string; condition: Condition; devices: DeviceModel[] }[] = [
  { id: 'demo-hypertension', name: 'Demo Patient A (hypertension)', condition: 'hypertension', devices: ['bp_cuff'] },
  { id: 'demo-diabetes', name: 'Demo Patient B (type 2 diabetes)', condition: 'type2_diabetes', devices: ['glucose_meter', 'cgm'] },
  { id: 'demo-heart-failure', name: 'Demo Patient C (heart failure)', condition: 'heart_failure', devices: ['scale', 'bp_cuff'] },
  { id: 'demo-copd', name: 'Demo Patient D (COPD)', condition: 'copd', devices: ['pulse_oximeter', 'thermometer'] },
  { id: 'demo-healthy', name: 'Demo Patient E (healthy)', condition: 'healthy', devices: ['activity_tracker'] },
];

async function provisionCohort(vigil: Vigil): Promise<SimulatedDeviceSpec[]> {
  const { registry } = vigil;
  const specs: SimulatedDeviceSpec[] = [];
  let seed = 1;
  for (const patient of COHORT) {
    if (!registry.getPatient(patient.id)) registry.addPatient({ id: patient.id, name: patient.name });
    for (const model of patient.devices) {
      const deviceId = `${patient.id}-${model.replace(/_/g, '-')}`;
      // Demo devices get a fresh secret at every start: secrets exist only in this process and the hash.
      const secret = registry.getDevice(deviceId)
        ? await registry.rotateSecret(deviceId)
        : (await registry.addDevice({ patientId: patient.id, id: deviceId })).secret;
      // One device in the cohort is faulty now and then, to show rejections with their reasons.
      specs.push({ deviceId, secret, model, condition: patient.condition, seed: seed++, badReadingRate: model === 'thermometer' ? 0.15 : 0 });
    }
  }
  return specs;
}

function countByType(readings: readonly Reading[]): string {
  const counts = new Map<string, number>();
  for (const r of readings) counts.set(r.type, (counts.get(r.type) ?? 0) + 1);
  return [...counts].map(([t, n]) => `${t} ${n}`).join(', ');
}

export function registerDemo(program: Command): void {
  addServerOptions(
    program
      .command('demo')
      .description('run Vigil with a small simulated fleet on this machine (embedded broker and storage, no external service)')
      .option('--interval <seconds>', 'mean seconds between two readings of one device', '5'),
  ).action(
    action(async (opts: ServerOptions & { interval: string }) => {
      const config = configFrom({
        ...serverOverrides(opts),
        VIGIL_DATA_DIR: opts.dataDir ?? process.env.VIGIL_DATA_DIR ?? './demo-data',
        VIGIL_BIND_HOST: opts.host ?? process.env.VIGIL_BIND_HOST ?? '127.0.0.1',
        VIGIL_LOG_LEVEL: process.env.VIGIL_LOG_LEVEL ?? 'warn',
      });
      let stored: Reading[] = [];
      await runUntilSignal(config, { onStored: (readings) => void stored.push(...readings) }, async (vigil) => {
        const specs = await provisionCohort(vigil);
        const yours = vigil.registry.getDevice('demo-your-device')
          ? { device: { id: 'demo-your-device' }, secret: await vigil.registry.rotateSecret('demo-your-device') }
          : await vigil.registry.addDevice({ patientId: 'demo-healthy', id: 'demo-your-device' });
        const fleet = new Fleet(specs, {
          url: `mqtt://127.0.0.1:${vigil.mqttPort}`,
          topicPrefix: config.topicPrefix,
          intervalMs: Number(opts.interval) * 1000,
          onError: (deviceId, err) => process.stderr.write(`device ${deviceId}: ${err.message}\n`),
        });
        await fleet.start();
        const topic = `${config.topicPrefix}/devices/${yours.device.id}`;
        const store = config.influx ? `InfluxDB ${config.influx.url} (database ${config.influx.database})` : `embedded SQLite in ${config.dataDir}`;
        process.stdout.write(
          [
            '',
            `Vigil demo: ${specs.length} simulated devices for ${COHORT.length} patients, storing in ${store}.`,
            `  MQTT            mqtt://127.0.0.1:${vigil.mqttPort}   (WebSocket: ws://127.0.0.1:${vigil.httpPort}/mqtt)`,
            `  Health          http://127.0.0.1:${vigil.httpPort}/readyz   Metrics: http://127.0.0.1:${vigil.httpPort}/metrics`,
            '',
            'Connect a device of your own (provisioned as demo-your-device for patient demo-healthy):',
            `  mosquitto_sub -h 127.0.0.1 -p ${vigil.mqttPort} -i ${yours.device.id}.errors -u ${yours.device.id} -P '${yours.secret}' -t '${topic}/errors' -q 1 &`,
            `  mosquitto_pub -h 127.0.0.1 -p ${vigil.mqttPort} -i ${yours.device.id} -u ${yours.device.id} -P '${yours.secret}' -q 1 -t '${topic}/readings' \\`,
            `    -m '{"type":"blood_pressure","time":"'$(date -u +%Y-%m-%dT%H:%M:%SZ)'","systolic":128,"diastolic":82,"pulse":70}'`,
            `  vigil readings --data-dir ${config.dataDir} --patient demo-healthy --type blood_pressure --since 1h`,
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
        };
      });
    }),
  );
}
