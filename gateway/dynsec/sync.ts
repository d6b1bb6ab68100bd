import type { DeviceAclKind } from '../../domain/index.js';
import type { GatewayLogger } from '../gateway.js';
import { DynsecControl, type DynsecLogin } from './control.js';
import { DynsecProvisioner, type ReconcileReport, type WorkerLogin } from './provisioner.js';

export interface DynsecSyncOptions {
  readonly login: DynsecLogin;
  readonly topicPrefix: string;
  /** The worker's own login, created at the broker when missing (a fresh broker needs only its administrator). */
  readonly worker: WorkerLogin | undefined;
  readonly devices: { listDevices(): readonly { readonly id: string; readonly revokedAt: number | null; readonly kind: DeviceAclKind }[] };
  /** True when another process (the CLI) committed to the registry since the last call. */
  readonly registryChanged: () => boolean;
  readonly log: GatewayLogger;
  /** How often the registry is checked for changes made elsewhere. */
  readonly checkEveryMs?: number;
  /** A full reconcile this often even without a change (someone edited the broker by hand). */
  readonly fullEveryMs?: number;
}

/** Logs what a reconcile did; devices without a password are named (device ids, never patient data). */
function report(log: GatewayLogger, r: ReconcileReport): void {
  const changed = r.created + r.disabled + r.deleted + r.roles > 0;
  if (changed) log.info({ created: r.created, disabled: r.disabled, deleted: r.deleted, roles: r.roles }, 'broker device logins reconciled with the registry');
  if (r.withoutPassword.length > 0) {
    log.warn(
      { count: r.withoutPassword.length, devices: r.withoutPassword.slice(0, 20) },
      'devices without a password at the broker cannot connect: push each secret (vigil devices broker-password) or rotate it (vigil devices rotate-secret)',
    );
  }
  if (r.notInRegistry > 0) log.info({ count: r.notInRegistry }, 'device logins at the broker that this registry does not have are left in place (vigil devices broker-sync deletes them)');
  if (r.refused.length > 0) log.warn({ count: r.refused.length, refused: r.refused.slice(0, 10) }, 'the broker refused some reconcile commands; the next run retries');
}

/**
 * Worker mode with Mosquitto's dynamic-security plugin: reconciles the broker's device logins with the registry
 * at start (start-up fails if the broker's plugin cannot be reached: devices would be let in or out wrongly), then
 * again whenever the CLI changes the registry (a revocation made while the CLI could not reach the broker is
 * applied here within seconds) and every few minutes.
 */
export async function startDynsecSync(o: DynsecSyncOptions) {
  const control = await DynsecControl.connect(o.login);
  const provisioner = new DynsecProvisioner(control, o.topicPrefix);
  let running: Promise<ReconcileReport> | undefined;
  const reconcile = (): Promise<ReconcileReport> => {
    running ??= provisioner.reconcile(o.devices.listDevices(), o.worker).finally(() => (running = undefined));
    return running;
  };
  try {
    report(o.log, await reconcile());
  } catch (err) {
    await control.close();
    throw err;
  }
  o.registryChanged();
  let lastFull = Date.now();
  const timer = setInterval(() => {
    const due = Date.now() - lastFull >= (o.fullEveryMs ?? 300_000);
    if (running || !(o.registryChanged() || due)) return;
    if (due) lastFull = Date.now();
    reconcile().then(
      (r) => report(o.log, r),
      (err: Error) => o.log.error({ err }, 'could not reconcile the broker device logins; retrying on the next change'),
    );
  }, o.checkEveryMs ?? 2_000);
  timer.unref();
  return {
    reconcile,
    async close(): Promise<void> {
      clearInterval(timer);
      await running?.catch(() => undefined);
      await control.close();
    },
  };
}

export type DynsecSync = Awaited<ReturnType<typeof startDynsecSync>>;
