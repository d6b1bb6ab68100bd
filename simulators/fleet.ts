import { SimulatedDevice, type DeviceConnection, type SimulatedDeviceSpec } from './device.js';
import { PhoneHub } from './hub.js';
import { Rng } from './rng.js';

export interface FleetOptions extends DeviceConnection {
  /** Mean time between two readings of one device. */
  readonly intervalMs: number;
  /**
   * Simulated time runs this many times faster than real time (a week in minutes), with timestamps spaced as
   * real; it starts in the past so that it reaches the present when `durationMs` has passed. Default 1.
   */
  readonly speed?: number;
  readonly durationMs?: number;
  /** Chance, per round, that a phone hub loses its network for a while (devices with a `hub` in their spec). */
  readonly hubOfflineChance?: number;
  readonly onError?: (deviceId: string, err: Error) => void;
}

export interface FleetStats {
  readonly devices: number;
  readonly published: number;
  readonly acknowledged: number;
  readonly rejected: number;
  /** Backlogs uploaded by phone hubs after being offline. */
  readonly hubUploads: number;
}

/**
 * Runs simulated devices side by side, each on its own jittered schedule so that the fleet does not publish in
 * lock-step. Stops by itself only when asked: the caller bounds its life.
 */
export class Fleet {
  readonly devices: SimulatedDevice[];
  readonly hubs: PhoneHub[];
  readonly #options: FleetOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #running = false;

  constructor(specs: readonly SimulatedDeviceSpec[], options: FleetOptions) {
    this.devices = specs.map((s) => new SimulatedDevice(s, options));
    this.#options = options;
    const byHub = new Map<string, SimulatedDevice[]>();
    for (const d of this.devices) if (d.spec.hub) byHub.set(d.spec.hub, [...(byHub.get(d.spec.hub) ?? []), d]);
    this.hubs = [...byHub.values()].map((ds) => new PhoneHub(ds, new Rng(ds[0]!.spec.seed + 7919), options.hubOfflineChance ?? 0.05));
  }

  /** The fleet's simulated clock. */
  #clock: () => Date = () => new Date();

  async start(): Promise<void> {
    const speed = this.#options.speed ?? 1;
    if (speed !== 1) {
      const realStart = Date.now();
      const simulatedStart = realStart - (this.#options.durationMs ?? 0) * (speed - 1);
      this.#clock = () => new Date(Math.min(Date.now(), simulatedStart + (Date.now() - realStart) * speed));
    }
    await Promise.all(this.devices.map((d) => d.start()));
    this.#running = true;
    for (const device of this.devices) {
      if (device.spec.hub) continue;
      this.#schedule(device.spec.deviceId, () => {
        const payload = device.nextPayload(this.#clock());
        return payload ? device.publish(payload) : Promise.resolve();
      });
    }
    for (const hub of this.hubs) this.#schedule(hub.devices.map((d) => d.spec.deviceId).join(','), () => hub.tick(this.#clock()));
  }

  #schedule(who: string, round: () => Promise<void>, delay = Math.random() * this.#options.intervalMs): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#running) return;
      round().catch((err: Error) => this.#options.onError?.(who, err));
      this.#schedule(who, round, this.#options.intervalMs * (0.5 + Math.random()));
    }, delay);
    this.#timers.add(timer);
  }

  stats(): FleetStats {
    return this.devices.reduce(
      (s, d) => ({
        devices: s.devices + 1,
        published: s.published + d.stats.published,
        acknowledged: s.acknowledged + d.stats.acknowledged,
        rejected: s.rejected + d.stats.rejected,
        hubUploads: s.hubUploads,
      }),
      { devices: 0, published: 0, acknowledged: 0, rejected: 0, hubUploads: this.hubs.reduce((n, h) => n + h.uploads, 0) },
    );
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.devices.map((d) => d.stop()));
  }
}
