import type { WireReadingInput } from '../domain/index.js';
import type { SimulatedDevice } from './device.js';
import type { Rng } from './rng.js';

/**
 * A patient's phone acting as a hub: it relays several home devices (each with its own credentials, as the
 * device contract requires) and, while the phone has no network, keeps their readings and uploads them as
 * backlog arrays when it is back: store-and-forward, the way RPM hub apps work.
 */
export class PhoneHub {
  readonly devices: readonly SimulatedDevice[];
  readonly #rng: Rng;
  readonly #offlineChance: number;
  readonly #held = new Map<SimulatedDevice, WireReadingInput[]>();
  #offlineTicksLeft = 0;
  #uploads = 0;

  constructor(devices: readonly SimulatedDevice[], rng: Rng, offlineChance: number) {
    this.devices = devices;
    this.#rng = rng;
    this.#offlineChance = offlineChance;
  }

  get online(): boolean {
    return this.#offlineTicksLeft === 0;
  }

  /** Backlog uploads made after coming back online. */
  get uploads(): number {
    return this.#uploads;
  }

  /** One round: every device measures; the hub sends now, or holds what it cannot send. */
  async tick(at: Date): Promise<void> {
    if (this.#offlineTicksLeft > 0) this.#offlineTicksLeft -= 1;
    else if (this.#rng.chance(this.#offlineChance)) this.#offlineTicksLeft = 3 + Math.floor(this.#rng.next() * 8);
    await Promise.all(
      this.devices.map(async (device) => {
        const payload = device.nextPayload(at);
        const readings = payload === undefined ? [] : Array.isArray(payload) ? payload : [payload];
        const held = [...(this.#held.get(device) ?? []), ...readings];
        if (!this.online) return void this.#held.set(device, held);
        this.#held.delete(device);
        if (held.length === 0) return;
        if (held.length > 1) this.#uploads += 1;
        await device.publish(held.length === 1 ? held[0]! : held);
      }),
    );
  }
}
