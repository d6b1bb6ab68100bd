import type { Command } from 'commander';
import type { VigilConfig } from '../../app/config.js';
import type { DynsecProvisioner } from '../../gateway/index.js';
import { ARG, examples } from '../args.js';
import { CommandFailed } from '../failure.js';
import { action } from '../run.js';
import { DATA_DIR_HELP } from '../state-config.js';
import { withState, type DataDirOption } from '../with-state.js';

type Broker = NonNullable<VigilConfig['broker']> & { readonly dynsec: NonNullable<NonNullable<VigilConfig['broker']>['dynsec']> };

function dynsecBroker(config: Readonly<VigilConfig>): Broker | undefined {
  const broker = config.broker;
  return broker?.dynsec ? (broker as Broker) : undefined;
}

async function withProvisioner<T>(config: Readonly<VigilConfig>, broker: Broker, body: (p: DynsecProvisioner) => Promise<T>): Promise<T> {
  // Loaded here, not with the command line: the gateway's entry loads aedes and mqtt.js, which only the commands
  // that talk to an external broker need.
  const gateway = await import('../../gateway/index.js');
  const control = await gateway.DynsecControl.connect({ url: broker.url, ...broker.dynsec, tls: broker.tls, timeoutMs: broker.connectTimeoutMs });
  try {
    return await body(new gateway.DynsecProvisioner(control, config.topicPrefix));
  } finally {
    await control.close();
  }
}

/**
 * With VIGIL_BROKER_DYNSEC, applies a device change just made in the registry to the broker's logins; without
 * it, does nothing, and with VIGIL_BROKER_DYNSEC_SYNC=off it applies revocations only. The registry change stands either way: when the broker cannot take it, the message says
 * how to bring the broker in line (a running worker also applies revocations within seconds).
 */
export async function atBroker(config: Readonly<VigilConfig>, deviceId: string, change: (p: DynsecProvisioner) => Promise<void>, kind: 'secret' | 'revoke' = 'secret'): Promise<void> {
  const broker = dynsecBroker(config);
  if (!broker) return;
  // A revocation only takes access away, so any worker's CLI applies it at once; secrets come from one place.
  if (!broker.dynsec.sync && kind === 'secret') {
    process.stderr.write(`vigil: device ${deviceId} changed in this registry only (VIGIL_BROKER_DYNSEC_SYNC=off): its login at the broker comes from the worker that syncs them\n`);
    return;
  }
  try {
    await withProvisioner(config, broker, change);
  } catch (err) {
    const then =
      kind === 'revoke'
        ? 'a running Vigil worker applies the revocation at the broker within seconds, or run "vigil devices broker-sync" once the broker answers'
        : `once the broker answers, push the secret with "vigil devices broker-password ${deviceId}" (it reads the secret on stdin)`;
    throw new CommandFailed(`device ${deviceId} is changed in Vigil but not at the broker (${(err as Error).message}): ${then}`);
  }
  process.stderr.write(`vigil: device ${deviceId} updated at the broker\n`);
}

function requireDynsec(config: Readonly<VigilConfig>): Broker {
  const broker = dynsecBroker(config);
  if (!broker) throw new CommandFailed('Vigil provisions device logins at the broker only in worker mode with VIGIL_BROKER_DYNSEC=true (see docs/configuration.md)');
  if (!broker.dynsec.sync) throw new CommandFailed("VIGIL_BROKER_DYNSEC_SYNC=off: the broker's device logins are pushed from the data dir of the worker that syncs them, not from this one (see docs/deployment.md)");
  return broker;
}

async function readSecret(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('device secret (then Enter and Ctrl-D): ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (text.length > 1024) throw new CommandFailed('a device secret is shorter than 1 KB: is this the right input?');
  }
  const secret = text.replace(/\r?\n$/, '');
  if (!secret) throw new CommandFailed('no secret on stdin');
  return secret;
}

/** `vigil devices broker-sync` and `vigil devices broker-password`: the broker's device logins (Mosquitto dynamic security). */
export function registerBrokerLogins(devices: Command): void {
  examples(devices.command('broker-sync'), 'vigil devices broker-sync', 'vigil devices broker-sync --json')
    .description(
      "bring the broker's device logins in line with the registry (VIGIL_BROKER_DYNSEC): a client and role for each device, revoked devices disabled, removed ones deleted; lists the devices the broker has no password for",
    )
    .option('--json', 'print the report as JSON')
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (opts: { json?: boolean } & DataDirOption) => {
        const result = await withState(opts, async ({ registry }, audit, config) => {
          const broker = requireDynsec(config);
          const worker = broker.username ? { username: broker.username, password: broker.password, shareGroup: broker.shareGroup } : undefined;
          const report = await withProvisioner(config, broker, (p) => p.reconcile(registry.listDevices(), worker, { prune: true }));
          audit('devices.broker_sync', null, null, { created: report.created, disabled: report.disabled, deleted: report.deleted, roles: report.roles });
          return report;
        });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(result)}\n`);
          return;
        }
        process.stdout.write(`created ${result.created}, disabled ${result.disabled}, deleted ${result.deleted}, roles changed ${result.roles}\n`);
        if (result.withoutPassword.length > 0) {
          process.stdout.write(
            `${result.withoutPassword.length} device(s) have no password at the broker and cannot connect: ${result.withoutPassword.join(', ')}\n` +
              'Push each secret with "vigil devices broker-password <id>", or issue new ones with "vigil devices rotate-secret <id>".\n',
          );
        }
        if (result.refused.length > 0) throw new CommandFailed(`the broker refused ${result.refused.join('; ')}`);
      }),
    );
  examples(devices.command('broker-password'), 'vigil devices broker-password cuff-7 < cuff-7.secret   # the secret alone, from a file or a pipe')
    .description(
      "give the broker a device's current secret, read on stdin and checked against the registry's hash: for devices provisioned before VIGIL_BROKER_DYNSEC was on, or when the broker could not be reached at add or rotate-secret",
    )
    .argument('<deviceId>', 'device id', ARG.deviceId)
    .option('--data-dir <dir>', DATA_DIR_HELP)
    .action(
      action(async (deviceId: string, opts: DataDirOption) => {
        const secret = await readSecret();
        await withState(opts, async ({ registry }, audit, config) => {
          const broker = requireDynsec(config);
          const checked = await registry.authenticateDevice(deviceId, Buffer.from(secret));
          if (checked === 'unknown') throw new CommandFailed(`device ${deviceId} does not exist`);
          if (checked === 'revoked') throw new CommandFailed(`device ${deviceId} is revoked: "vigil devices rotate-secret ${deviceId}" reinstates it with a new secret`);
          if (checked !== 'ok') throw new CommandFailed(`that is not the secret Vigil holds for device ${deviceId} (nothing was changed)`);
          await withProvisioner(config, broker, (p) => p.provision(deviceId, secret, registry.getDevice(deviceId)?.kind));
          audit('device.broker_password', registry.getDevice(deviceId)?.patientId ?? null, `device:${deviceId}`);
        });
        process.stdout.write(`device ${deviceId} can log in at the broker with its secret\n`);
      }),
    );
}

/**
 * `vigil simulate` in worker mode with VIGIL_BROKER_DYNSEC: the simulated devices it just provisioned in the
 * registry get their logins at the broker through the same provisioner as `vigil devices add`, or they could not
 * connect there. Refused where this data dir does not sync the broker (VIGIL_BROKER_DYNSEC_SYNC=off).
 */
export async function provisionSimulatedAtBroker(config: Readonly<VigilConfig>, devices: readonly { readonly deviceId: string; readonly secret: string }[]): Promise<void> {
  const broker = dynsecBroker(config);
  if (!broker || devices.length === 0) return;
  if (!broker.dynsec.sync) {
    throw new CommandFailed("VIGIL_BROKER_DYNSEC_SYNC=off: simulated devices would have no login at the broker; run vigil simulate on the data dir of the worker that syncs the broker's logins");
  }
  try {
    await withProvisioner(config, broker, async (p) => {
      for (const d of devices) await p.provision(d.deviceId, d.secret);
    });
  } catch (err) {
    if (err instanceof CommandFailed) throw err;
    throw new CommandFailed(`the simulated devices are in the registry but not at the broker (${(err as Error).message}): run "vigil simulate" again once the broker answers`);
  }
  process.stderr.write(`vigil: ${devices.length} simulated device login(s) pushed to the broker\n`);
}
