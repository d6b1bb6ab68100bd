import { SimulatedDevice, type DeviceConnection, type SimulatedDeviceSpec } from './device.js';

export interface FleetOptions extends DeviceConnection {
  /** Mean time between two readings of one device. */
  readonly intervalMs: number;
  readonly onError?: (deviceId: string, err: Error) => void;
}

export interface FleetStats {
  readonly devices: number;
  readonly published: number;
  readonly acknowledged: number;
  readonly rejected: number;
}

/**
 * Runs simulated devices side by side, each on its own jittered schedule so that the fleet does not publish in
 * lock-step. Stops by itself only when asked: the caller bounds its life.
 */
export class Fleet {
  readonly devices: SimulatedDevice[];
  readonly #options: FleetOptions;
  readonly #timers = new Set<NodeJS.Timeout>();
  #running = false;

  constructor(specs: readonly SimulatedDeviceSpec[], options: FleetOptions) {
    this.devices = specs.map((s) => new SimulatedDevice(s, options));
    this.#options = options;
  }

  async start(): Promise<void> {
    await Promise.all(this.devices.map((d) => d.start()));
    this.#running = true;
    for (const device of this.devices) this.#schedule(device, Math.random() * this.#options.intervalMs);
  }

  #schedule(device: SimulatedDevice, delay: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#running) return;
      device.publish(device.nextReading()).catch((err: Error) => this.#options.onError?.(device.spec.deviceId, err));
      this.#schedule(device, this.#options.intervalMs * (0.5 + Math.random()));
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
      }),
      { devices: 0, published: 0, acknowledged: 0, rejected: 0 },
    );
  }

  async stop(): Promise<void> {
    this.#running = false;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all(this.devices.map((d) => d.stop()));
  }
}
