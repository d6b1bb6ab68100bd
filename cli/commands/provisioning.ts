import type { Command } from 'commander';
import { PROGRAMMES } from '../../domain/index.js';
import { DEVICE_KINDS, type DeviceKind } from '../../registry/index.js';
import { ARG, examples, oneOf } from '../args.js';
import { action, isoOrDash, printTable } from '../run.js';
import { DATA_DIR_HELP } from '../state-config.js';
import { withState, type DataDirOption } from '../with-state.js';
import { atBroker, registerBrokerLogins } from './broker-logins.js';

/** `vigil patients ...` and `vigil devices ...`: provisioning, safe while the server runs on the same data dir. */
export function registerProvisioning(program: Command): void {
  const patients = examples(program.command('patients').description('add and list patients, and set their programmes, care team and time zone'), 'vigil patients add --name "Ada Example" --team community --json', 'vigil patients list');
  patients
    .command('add')
    .description('add a patient')
    .requiredOption('--name <name>', "the patient's name (stored in the state database, never logged)", ARG.name)
    .option('--id <id>', 'patient id (default: generated)', ARG.patientId)
    .option('--programme <programme...>', `care programmes: ${PROGRAMMES.join(', ')}`, ARG.programmes)
    .option('--team <careTeam>', 'the care team that looks after the patient (its clinicians see the patient on the dashboard; without one, only administrators do)', ARG.careTeam)
    .option('--time-zone <tz>', "IANA time zone of the patient's home, e.g. Europe/London (default: $VIGIL_DEFAULT_TIME_ZONE or UTC)", ARG.timeZone)
    .option('--json', 'print {"id": ...} as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .addHelpText('after', '\nExample:\n  vigil patients add --name "Ada Example" --programme diabetes --team endocrinology --time-zone Europe/London --json\n')
    .action(
      action(async (opts: { name: string; id?: string; programme?: string[]; team?: string; timeZone?: string; json?: boolean } & DataDirOption) => {
        const patient = await withState(opts, async ({ registry }, audit) => {
          const added = await registry.addPatient({ name: opts.name, id: opts.id, programmes: opts.programme, careTeam: opts.team, timeZone: opts.timeZone });
          audit('patient.add', added.id, null, { programmes: added.programmes, careTeam: added.careTeam, timeZone: added.timeZone });
          return added;
        });
        process.stdout.write(opts.json ? `${JSON.stringify({ id: patient.id })}\n` : `patient ${patient.id} added\n`);
      }),
    );
  examples(patients.command('list'), 'vigil patients list', 'vigil patients list --json')
    .description('list patients')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean } & DataDirOption) => {
        const list = await withState(opts, async ({ registry }, audit) => {
          const patients = registry.listPatients();
          audit('patients.list', null, null, { patients: patients.length });
          return patients;
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else printTable(
            list.map((p) => ({ id: p.id, name: p.name, programmes: p.programmes.join(', ') || '-', team: p.careTeam, 'time zone': p.timeZone, created: isoOrDash(p.createdAt) })),
          );
      }),
    );
  examples(patients.command('set-programmes'), 'vigil patients set-programmes p-1a2b3c4d5e6f hypertension heart_failure', 'vigil patients set-programmes p-1a2b3c4d5e6f   # no programme: the default rules only')
    .description(`enrol a patient in exactly these programmes (${PROGRAMMES.join(', ')}); none leaves the default rules only`)
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('[programmes...]', PROGRAMMES.join(', '), ARG.programmes)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, programmes: string[] | undefined, opts: DataDirOption) => {
        const patient = await withState(opts, async ({ registry }, audit) => {
          const changed = await registry.setProgrammes(patientId, programmes ?? []);
          audit('patient.programmes', changed.id, null, { programmes: changed.programmes });
          return changed;
        });
        process.stdout.write(`patient ${patient.id}: ${patient.programmes.join(', ') || 'no programme'}\n`);
      }),
    );
  examples(patients.command('set-team'), 'vigil patients set-team p-1a2b3c4d5e6f cardiology')
    .description('move a patient to a care team; without a team, only administrators see the patient')
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('[careTeam]', 'the care team (none: only administrators see the patient)', ARG.careTeam)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, careTeam: string | undefined, opts: DataDirOption) => {
        const patient = await withState(opts, async ({ registry }, audit) => {
          const changed = await registry.setCareTeam(patientId, careTeam ?? null);
          audit('patient.care_team', changed.id, null, { careTeam: changed.careTeam });
          return changed;
        });
        process.stdout.write(`patient ${patient.id}: care team ${patient.careTeam ?? '(none)'}\n`);
      }),
    );
  examples(patients.command('set-time-zone'), 'vigil patients set-time-zone p-1a2b3c4d5e6f America/New_York')
    .description("set the IANA time zone of the patient's home (they moved, or it was never set); rules about their day use it")
    .argument('<patientId>', 'patient id', ARG.patientId)
    .argument('<timeZone>', 'an IANA time zone, e.g. Europe/London', ARG.timeZone)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (patientId: string, timeZone: string, opts: DataDirOption) => {
        const patient = await withState(opts, async ({ registry }, audit) => {
          const from = registry.getPatient(patientId)?.timeZone;
          const changed = await registry.setTimeZone(patientId, timeZone);
          audit('patient.time_zone', changed.id, null, { from, to: changed.timeZone });
          return changed;
        });
        process.stdout.write(`patient ${patient.id}: time zone ${patient.timeZone}\n`);
      }),
    );

  const devices = examples(program.command('devices').description('provision, list, assign, revoke devices and rotate their secrets'), 'vigil devices add --patient p-1a2b3c4d5e6f --id cuff-7 --json', 'vigil devices list');
  examples(devices.command('add'), 'vigil devices add --patient p-1a2b3c4d5e6f --id cuff-7 --json', 'vigil devices add --patient p-1a2b3c4d5e6f --id phone-7 --kind hub   # the patient\'s hub app (docs/hub-protocol.md)')
    .description("provision a device for a patient; prints its secret once (only a hash is kept)")
    .requiredOption('--patient <id>', 'the patient the device belongs to', ARG.patientId)
    .option('--id <deviceId>', 'device id, used as MQTT username and client id (default: generated)', ARG.deviceId)
    .option('--kind <kind>', `${DEVICE_KINDS.join(' or ')}: a hub also receives reminders and messages in its inbox`, oneOf(DEVICE_KINDS), 'device')
    .option('--json', 'print {"deviceId": ..., "secret": ...} as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { patient: string; id?: string; kind: DeviceKind; json?: boolean } & DataDirOption) => {
        const { device, secret, config } = await withState(opts, async ({ registry }, audit, config) => {
          const added = await registry.addDevice({ patientId: opts.patient, id: opts.id, kind: opts.kind });
          audit('device.add', opts.patient, `device:${added.device.id}`, { kind: opts.kind });
          return { ...added, config };
        });
        if (opts.json) process.stdout.write(`${JSON.stringify({ deviceId: device.id, secret })}\n`);
        else {
          process.stdout.write(
            `device ${device.id} added for patient ${opts.patient}\n` +
              `secret: ${secret}\n` +
              'Store the secret on the device now: it is not shown again (rotate it with "vigil devices rotate-secret").\n',
          );
        }
        // After the secret is shown: if the broker cannot take it now, the operator still holds it to push later.
        await atBroker(config, device.id, (broker) => broker.provision(device.id, secret, device.kind));
      }),
    );
  examples(devices.command('assign'), 'vigil devices assign cuff-7 p-1a2b3c4d5e6f')
    .description('hand a device to another patient: its next readings are theirs (its secret stays; rotate it if the device changed hands)')
    .argument('<deviceId>', 'device id', ARG.deviceId)
    .argument('<patientId>', 'patient id', ARG.patientId)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (deviceId: string, patientId: string, opts: DataDirOption) => {
        await withState(opts, async ({ registry }, audit) => {
          const from = registry.getDevice(deviceId)?.patientId ?? null;
          await registry.assignDevice(deviceId, patientId);
          audit('device.assign', patientId, `device:${deviceId}`, { from });
        });
        process.stdout.write(`device ${deviceId} assigned to patient ${patientId}\n`);
      }),
    );
  examples(devices.command('unassign'), 'vigil devices unassign cuff-7')
    .argument('<deviceId>', 'device id', ARG.deviceId)
    .description('take a device from its patient (returned to stock): its readings are rejected until it is assigned again')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (deviceId: string, opts: DataDirOption) => {
        await withState(opts, async ({ registry }, audit) => {
          const from = registry.getDevice(deviceId)?.patientId ?? null;
          await registry.assignDevice(deviceId, null);
          audit('device.unassign', from, `device:${deviceId}`);
        });
        process.stdout.write(`device ${deviceId} unassigned\n`);
      }),
    );
  examples(devices.command('list'), 'vigil devices list', 'vigil devices list --json')
    .description('list devices with their status')
    .option('--json', 'print JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean } & DataDirOption) => {
        const list = await withState(opts, async ({ registry }, audit) => {
          const devices = registry.listDevices();
          audit('devices.list', null, null, { devices: devices.length });
          return devices;
        });
        if (opts.json) process.stdout.write(`${JSON.stringify(list)}\n`);
        else {
          printTable(
            list.map((d) => ({
              id: d.id,
              patient: d.patientId,
              state: d.revokedAt ? 'revoked' : d.online ? 'online' : 'offline',
              battery: d.battery,
              firmware: d.firmware,
              'last seen': isoOrDash(d.lastSeenAt),
            })),
          );
        }
      }),
    );
  examples(devices.command('revoke'), 'vigil devices revoke cuff-7')
    .argument('<deviceId>', 'device id', ARG.deviceId)
    .description('revoke a device: it can no longer connect, and a live connection is closed within seconds (at the broker too, with VIGIL_BROKER_DYNSEC)')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (deviceId: string, opts: DataDirOption) => {
        const config = await withState(opts, async ({ registry }, audit, config) => {
          const device = await registry.revokeDevice(deviceId);
          audit('device.revoke', device.patientId, `device:${deviceId}`);
          return config;
        });
        process.stdout.write(`device ${deviceId} revoked\n`);
        await atBroker(config, deviceId, (broker) => broker.revoke(deviceId), 'revoke');
      }),
    );
  examples(devices.command('rotate-secret'), 'vigil devices rotate-secret cuff-7 --json')
    .argument('<deviceId>', 'device id', ARG.deviceId)
    .description('issue a new secret (the old one stops working; a revoked device is reinstated)')
    .option('--json', 'print {"deviceId": ..., "secret": ...} as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (deviceId: string, opts: { json?: boolean } & DataDirOption) => {
        const { secret, kind, config } = await withState(opts, async ({ registry }, audit, config) => {
          const rotated = await registry.rotateSecret(deviceId);
          const device = registry.getDevice(deviceId);
          audit('device.rotate_secret', device?.patientId ?? null, `device:${deviceId}`);
          return { secret: rotated, kind: device?.kind ?? 'device', config };
        });
        process.stdout.write(opts.json ? `${JSON.stringify({ deviceId, secret })}\n` : `secret: ${secret}\n`);
        await atBroker(config, deviceId, (broker) => broker.provision(deviceId, secret, kind));
      }),
    );
  registerBrokerLogins(devices);
}
