import type { DynsecCommand, DynsecCommands, DynsecResponse } from './control.js';
import { DEVICE_ROLE_PREFIX, deviceAcls, deviceRole, roleCommands, WORKER_ROLE, workerAcls, type DynsecAcl, type DynsecRole } from './roles.js';
import { VigilError, type DeviceAclKind } from '../../domain/index.js';

/** The client names Vigil gives the devices it provisions, so an operator sees which ones still need a secret. */
export const PROVISIONED = 'Vigil device';
export const NO_PASSWORD = 'Vigil device: no password yet (vigil devices broker-password)';
/** Reads and writes of a role raced by other administrators before a provision gives up. */
const ROLE_ATTEMPTS = 3;

interface DynsecClient {
  readonly username: string;
  readonly textname?: string;
  readonly disabled?: boolean;
  readonly roles?: readonly { readonly rolename: string }[];
}

/** What a reconcile found and changed. */
export interface ReconcileReport {
  /** Clients created (without a password: see `withoutPassword`). */
  readonly created: number;
  /** Clients of revoked devices disabled (their connections closed). */
  readonly disabled: number;
  /** Clients and roles of devices no longer in the registry deleted (with `prune`). */
  readonly deleted: number;
  /** Device clients at the broker that the registry does not have (left in place without `prune`). */
  readonly notInRegistry: number;
  /** Roles created or corrected. */
  readonly roles: number;
  /** Active devices the broker has no password for: they cannot connect until their secret is pushed. */
  readonly withoutPassword: readonly string[];
  /** Commands the broker refused (a concurrent reconcile by another worker, usually); the next run retries. */
  readonly refused: readonly string[];
}

/** The worker login the reconcile makes sure of, so that a fresh broker needs only its administrator. */
export interface WorkerLogin {
  readonly username: string;
  readonly password: string | undefined;
  readonly shareGroup: string;
}

/**
 * Devices as clients of Mosquitto's dynamic-security plugin: each device is a client named by its id, with a role
 * of its own that allows exactly its topics (roles.ts). The registry keeps only a hash of each secret, and the
 * plugin needs the secret itself (it keeps its own salted hash), so the secret reaches the broker when it exists
 * in clear: when the device is provisioned and when its secret is rotated (`provision`), or when an operator
 * pushes a secret they hold (`vigil devices broker-password`). Revocation disables the client, which closes its
 * connection at once.
 */
export class DynsecProvisioner {
  readonly #control: DynsecCommands;
  readonly #prefix: string;

  constructor(control: DynsecCommands, topicPrefix: string) {
    this.#control = control;
    this.#prefix = topicPrefix;
  }

  /** Creates or updates the device's client with this secret and its role, and enables it. */
  async provision(deviceId: string, secret: string, kind: DeviceAclKind = 'device'): Promise<void> {
    const rolename = deviceRole(deviceId);
    await this.#ensureRole(rolename, deviceAcls(this.#prefix, deviceId, kind));
    const created = await this.#control.one(
      { command: 'createClient', username: deviceId, password: secret, textname: PROVISIONED, roles: [{ rolename, priority: 0 }] },
      ['Client already exists'],
    );
    if (!created.error) return;
    // Known already (a rotation, or a client the reconcile created without a password): new secret, its role, enabled.
    await this.#runAll([
      { command: 'setClientPassword', username: deviceId, password: secret },
      { command: 'modifyClient', username: deviceId, textname: PROVISIONED, roles: [{ rolename, priority: 0 }] },
      { command: 'enableClient', username: deviceId },
    ]);
  }

  /** Disables the device's client: the broker refuses its logins and closes its live connections. */
  async revoke(deviceId: string): Promise<void> {
    await this.#control.one({ command: 'disableClient', username: deviceId }, ['Client not found']);
  }

  /**
   * Brings the broker in line with the registry: every device has its client and role (created without a
   * password when the broker has never been given its secret), revoked devices are disabled, and the worker's
   * role and login exist. With `prune`, clients and roles of devices the registry does not have are deleted: only
   * `vigil devices broker-sync` asks for it, since until state is shared each worker has a registry of its own
   * and one that lags behind must not delete devices another has just provisioned. Never enables a client: only
   * a secret pushed in clear does that.
   */
  async reconcile(devices: readonly { readonly id: string; readonly revokedAt: number | null; readonly kind: DeviceAclKind }[], worker?: WorkerLogin, { prune = false } = {}): Promise<ReconcileReport> {
    const [clientList, roleList] = await this.#control.run([
      { command: 'listClients', verbose: true, count: -1, offset: 0 },
      { command: 'listRoles', verbose: true, count: -1, offset: 0 },
    ]);
    for (const r of [clientList, roleList]) if (!r || r.error) throw new VigilError('VIGIL_ERR_BROKER', `the broker refused to list its clients and roles: ${r?.error ?? 'no answer'}`);
    const clients = new Map(((clientList!.data as { clients?: DynsecClient[] }).clients ?? []).map((c) => [c.username, c]));
    const roles = new Map(((roleList!.data as { roles?: DynsecRole[] }).roles ?? []).map((r) => [r.rolename, r]));
    const commands: DynsecCommand[] = [];
    const withoutPassword: string[] = [];
    let created = 0;
    let disabled = 0;
    let deleted = 0;
    const roleFixes = (rolename: string, acls: Parameters<typeof roleCommands>[1]) => {
      const fixes = roleCommands(rolename, acls, roles.get(rolename));
      commands.push(...fixes);
      return fixes.length > 0 ? 1 : 0;
    };
    let rolesChanged = 0;

    if (worker) {
      rolesChanged += roleFixes(WORKER_ROLE, workerAcls(this.#prefix, worker.shareGroup));
      const known = clients.get(worker.username);
      if (!known) commands.push({ command: 'createClient', username: worker.username, ...(worker.password ? { password: worker.password } : {}), textname: 'Vigil worker', roles: [{ rolename: WORKER_ROLE, priority: 0 }] });
      else if (!known.roles?.some((r) => r.rolename === WORKER_ROLE)) commands.push({ command: 'addClientRole', username: worker.username, rolename: WORKER_ROLE, priority: 0 });
    }

    const ids = new Set<string>();
    for (const device of devices) {
      ids.add(device.id);
      const client = clients.get(device.id);
      const rolename = deviceRole(device.id);
      if (device.revokedAt !== null) {
        if (client && !client.disabled) {
          commands.push({ command: 'disableClient', username: device.id });
          disabled += 1;
        }
        continue;
      }
      rolesChanged += roleFixes(rolename, deviceAcls(this.#prefix, device.id, device.kind));
      if (!client) {
        commands.push({ command: 'createClient', username: device.id, textname: NO_PASSWORD, roles: [{ rolename, priority: 0 }] });
        created += 1;
        withoutPassword.push(device.id);
        continue;
      }
      if (!client.roles?.some((r) => r.rolename === rolename)) commands.push({ command: 'addClientRole', username: device.id, rolename, priority: 0 });
      if (client.disabled || client.textname === NO_PASSWORD) withoutPassword.push(device.id);
    }
    let notInRegistry = 0;
    for (const client of clients.values()) {
      const owned = client.roles?.some((r) => r.rolename.startsWith(DEVICE_ROLE_PREFIX));
      if (!owned || ids.has(client.username)) continue;
      notInRegistry += 1;
      if (prune) {
        commands.push({ command: 'deleteClient', username: client.username });
        deleted += 1;
      }
    }
    for (const rolename of roles.keys()) {
      if (prune && rolename.startsWith(DEVICE_ROLE_PREFIX) && !ids.has(rolename.slice(DEVICE_ROLE_PREFIX.length))) {
        commands.push({ command: 'deleteRole', rolename });
        deleted += 1;
      }
    }
    const refused = refusals(commands, await this.#control.run(commands));
    return { created, disabled, deleted, notInRegistry, roles: rolesChanged, withoutPassword, refused };
  }

  /**
   * Makes the role hold exactly these ACLs. Another administrator (a worker's sync, a second CLI) may create or
   * change the role between the read and the write, and the broker then refuses ours ("Role already exists"):
   * the role is read again and only what still differs is sent, a few times before giving up.
   */
  async #ensureRole(rolename: string, acls: readonly DynsecAcl[]): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      const role = await this.#control.one({ command: 'getRole', rolename }, ['Role not found']);
      const commands = roleCommands(rolename, acls, (role.data as { role?: DynsecRole } | undefined)?.role);
      if (commands.length === 0) return;
      const refused = refusals(commands, await this.#control.run(commands));
      if (refused.length === 0) return;
      if (attempt === ROLE_ATTEMPTS) throw new VigilError('VIGIL_ERR_BROKER', `the broker refused ${refused.join('; ')}`);
    }
  }

  async #runAll(commands: readonly DynsecCommand[]): Promise<void> {
    if (commands.length === 0) return;
    const refused = refusals(commands, await this.#control.run(commands));
    if (refused.length > 0) throw new VigilError('VIGIL_ERR_BROKER', `the broker refused ${refused.join('; ')}`);
  }
}

function refusals(commands: readonly DynsecCommand[], responses: readonly DynsecResponse[]): string[] {
  return responses.flatMap((r, i) => (r.error ? [`${r.command} ${String(commands[i]?.username ?? commands[i]?.rolename ?? '')}: ${r.error}`.trim()] : []));
}
