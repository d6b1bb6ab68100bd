import { timingSafeEqual } from 'node:crypto';
import { deviceAcl, ID_PATTERN, parseDeviceTopic, WORKER_SENDS, workerAcl, type DeviceAclKind, type DeviceTopicKind } from '../../domain/index.js';
import { AuthThrottle } from '../auth-throttle.js';
import { clientIdMatches } from '../client-identity.js';

/** What the hooks need of the registry: a device's secret check and whether it is revoked. */
export interface DeviceDirectory {
  authenticateDevice(id: string, secret: Buffer): Promise<'ok' | 'unknown' | 'bad-secret' | 'revoked'>;
  getDevice(id: string): { readonly revokedAt: number | null; readonly kind: DeviceAclKind } | undefined;
}

export interface BrokerAccessOptions {
  readonly devices: DeviceDirectory;
  readonly topicPrefix: string;
  /** The workers' own broker login (VIGIL_BROKER_USERNAME / _PASSWORD) and their shared-subscription group. */
  readonly worker: { readonly username: string; readonly password: string | undefined; readonly shareGroup: string } | undefined;
  /** Failed logins a device id, and a client address, may make per minute before further attempts are refused unchecked. */
  readonly failuresPerMinutePerDevice: number;
  readonly failuresPerMinutePerAddress: number;
}

export type LoginResult =
  | { readonly allow: true; readonly as: 'device' | 'worker' }
  | { readonly allow: false; readonly reason: 'bad-credentials' | 'unknown' | 'revoked' | 'client-id' | 'throttled' };

export interface LoginRequest {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly clientId: string | undefined;
  /** The device's address as the broker saw it, when the broker says. */
  readonly peer: string | undefined;
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * The decisions behind the brokers' HTTP hooks (EMQX, VerneMQ): who may log in, and who may publish or subscribe
 * where. A device logs in with its device id as username and its secret, under a client id that is its device
 * id (optionally `.suffix`, as with the embedded broker, so that no device takes over another's session); it
 * publishes and subscribes exactly on its own topics (domain/device-acl.ts, the same list Mosquitto's roles are
 * made from). The workers log in with Vigil's worker login and consume the shared subscriptions of their group.
 */
export class BrokerAccess {
  readonly #o: BrokerAccessOptions;
  readonly #byDevice: AuthThrottle;
  readonly #byAddress: AuthThrottle;

  constructor(options: BrokerAccessOptions) {
    this.#o = options;
    this.#byDevice = new AuthThrottle(options.failuresPerMinutePerDevice);
    this.#byAddress = new AuthThrottle(options.failuresPerMinutePerAddress);
  }

  async login(r: LoginRequest): Promise<LoginResult> {
    const { username, password, clientId, peer } = r;
    if (!username || password === undefined) return { allow: false, reason: 'bad-credentials' };
    // Throttled keys are refused before any hash is computed: a flood costs no CPU.
    if (this.#byDevice.blocked(username) || (peer !== undefined && this.#byAddress.blocked(peer))) return { allow: false, reason: 'throttled' };
    const worker = this.#o.worker;
    if (worker && username === worker.username) {
      if (worker.password !== undefined && sameText(password, worker.password)) return { allow: true, as: 'worker' };
      return this.#failed(username, peer, 'bad-credentials');
    }
    // Not a device id (through EMQX a username may be a megabyte): no device to check, and no throttle bucket
    // keyed by it, or a peer making up usernames could fill the per-device throttle with megabyte keys.
    if (!ID_PATTERN.test(username)) {
      if (peer !== undefined) this.#byAddress.fail(peer);
      return { allow: false, reason: 'unknown' };
    }
    const checked = await this.#o.devices.authenticateDevice(username, Buffer.from(password));
    if (checked === 'revoked') return { allow: false, reason: 'revoked' };
    if (checked !== 'ok') return this.#failed(username, peer, checked === 'unknown' ? 'unknown' : 'bad-credentials');
    if (clientId !== undefined && !clientIdMatches(clientId, username)) return { allow: false, reason: 'client-id' };
    return { allow: true, as: 'device' };
  }

  #failed(username: string, peer: string | undefined, reason: 'bad-credentials' | 'unknown'): LoginResult {
    this.#byDevice.fail(username);
    if (peer !== undefined) this.#byAddress.fail(peer);
    return { allow: false, reason };
  }

  /** May this logged-in client publish to `topic`? */
  mayPublish(username: string | undefined, topic: string): boolean {
    if (!username) return false;
    if (this.#isWorker(username)) {
      const parsed = parseDeviceTopic(this.#o.topicPrefix, topic);
      return parsed !== undefined && WORKER_SENDS.includes(parsed.kind as DeviceTopicKind);
    }
    const device = this.#activeDevice(username);
    return device !== undefined && deviceAcl(this.#o.topicPrefix, username, device.kind).publish.includes(topic);
  }

  /** May this logged-in client subscribe to `filter`? */
  maySubscribe(username: string | undefined, filter: string): boolean {
    if (!username) return false;
    if (this.#isWorker(username)) {
      const { subscribe } = workerAcl(this.#o.topicPrefix, this.#o.worker!.shareGroup);
      // Brokers differ in whether the authorisation check sees the `$share/<group>/` prefix: both forms are the worker's.
      const group = `$share/${this.#o.worker!.shareGroup}/`;
      return subscribe.includes(filter) || subscribe.includes(`${group}${filter}`);
    }
    const device = this.#activeDevice(username);
    return device !== undefined && deviceAcl(this.#o.topicPrefix, username, device.kind).subscribe.includes(filter);
  }

  #isWorker(username: string): boolean {
    return this.#o.worker !== undefined && username === this.#o.worker.username;
  }

  /** A revoked device keeps no rights, even on a connection the broker has not closed yet. */
  #activeDevice(deviceId: string): { readonly kind: DeviceAclKind } | undefined {
    const device = this.#o.devices.getDevice(deviceId);
    return device !== undefined && device.revokedAt === null ? device : undefined;
  }
}
