import { getRandomValues } from 'node:crypto';
import { READING_TYPES, type ReadingIdentity } from '../domain/index.js';

/**
 * The identities of recent readings, for duplicate detection before the outbox: a device that resends a
 * message (no PUBACK arrived, a hub replaying its backlog) is acknowledged without storing the reading twice.
 *
 * A ring of generations (up to GENERATIONS) of about `capacity / generations` keys each: keys are added to the
 * newest, a lookup checks them newest first, and when the newest is full the oldest is dropped whole and becomes
 * the new one. Every operation is O(1) however long the process runs. (A single Map evicting its oldest key with
 * `keys().next()` after deletes slows down as V8's deleted slots pile up at its front: over 100 µs per reading
 * after 200,000 readings.) Many small generations rather than two large ones: a V8 Map rehashes every key as it
 * doubles, in the one `set` that crosses the size, and a generation of 100,000 keys held the main thread, with
 * every device's PUBACK behind it, 3-4 ms when it passed 65,536 in isolation and about 19 ms in a loaded process
 * (docs/benchmarks.md, "A ninth look"); one of 12,500 keys rehashes at most 8,192 of them.
 *
 * Each generation is a fixed open-addressing table in typed arrays (Generation, below), not a Map keyed by the
 * reading's key string: a Map entry and the flattened key string per reading lived on into V8's old generation
 * with the window, and adding them cost about a tenth of what a reading costs the main thread ("An eleventh
 * look"). A reading is matched exactly (device, type, time and message id compared), as its key string was.
 * The slots are chosen by a hash seeded at random for each window, as V8 seeds the Maps' string hash: with a
 * fixed hash a device could send message ids that all hash alike (found offline, 16,384 of them in minutes),
 * and each add and lookup would walk them all while every other device's PUBACK waited.
 *
 * Guarantee: at every moment the window holds the most recent `capacity - ceil(capacity / 16)` distinct keys
 * added (187,500 of the default 200,000; `capacity - 1` below 16), and never more than `capacity`; it is global
 * across devices (keys name their device). Beyond the window, a duplicate is appended again and the reading
 * stores overwrite it (same series and time): it is stored once either way. The generations' sizes add up to
 * `capacity` exactly, differing by one at most where 16 does not divide it: equal sizes rounded down lost up to
 * 15 keys of the window and a whole generation more (a window of 31 held only the last 15).
 */
export class DedupeWindow<V> {
  /** The most keys each generation takes before the next one begins (summing to the capacity). */
  readonly #sizes: number[];
  /** A ring: `#newest` is where keys are added; the one after it is the oldest. */
  readonly #generations: Generation<V>[];
  #newest = 0;
  /**
   * Devices by a small number, for the tables' integer columns: one entry per device heard from since the start,
   * so as many as there are provisioned devices at most (only a device's own credentials publish its readings).
   */
  readonly #devices = new Map<string, number>();
  /** Where each message id's hash starts: unknown outside this process. */
  readonly #seed = getRandomValues(new Int32Array(1))[0]!;

  constructor(capacity: number) {
    // At least 2: dropping whole generations, a window of 1 would hold nothing just after each key, and an
    // undefined or NaN size (a bad setting) would make an empty ring that fails on the first reading.
    if (!Number.isSafeInteger(capacity) || capacity < 2) throw new RangeError(`the duplicate window holds a whole number of keys, at least 2 (not ${capacity})`);
    const count = Math.min(GENERATIONS, capacity);
    const size = Math.floor(capacity / count);
    this.#sizes = Array.from({ length: count }, (_, i) => size + (i < capacity % count ? 1 : 0));
    this.#generations = this.#sizes.map((s) => new Generation<V>(s));
  }

  has(reading: ReadingIdentity): boolean {
    return this.get(reading) !== undefined;
  }

  /** The reading's value, or undefined when the window does not hold it (values are never undefined). */
  get(reading: ReadingIdentity): V | undefined {
    const probe = this.#probeOf(reading);
    if (!probe) return undefined;
    const count = this.#generations.length;
    for (let back = 0; back < count; back++) {
      const value = this.#generations[(this.#newest - back + count) % count]!.get(probe);
      if (value !== undefined) return value;
    }
    return undefined;
  }

  /** The reading's probe, or undefined for a device never added (then no table holds the reading). */
  #probeOf(reading: ReadingIdentity): Probe | undefined {
    const device = this.#devices.get(reading.deviceId);
    return device === undefined ? undefined : identify(this.#seed, device, reading);
  }

  /** Adds a reading the window does not hold (check with `get`: one lookup instead of a delete per add). */
  add(reading: ReadingIdentity, value: Exclude<V, undefined>): void {
    let device = this.#devices.get(reading.deviceId);
    if (device === undefined) {
      device = this.#devices.size;
      this.#devices.set(reading.deviceId, device);
    }
    const probe = identify(this.#seed, device, reading);
    // The newest generation is full only for a key that needs a slot of its own: one added again after its
    // delete (the resend of a failed commit's reading) takes back its deleted slot, even in a full generation.
    if (this.#generations[this.#newest]!.tryAdd(probe, value, this.#sizes[this.#newest]!)) return;
    this.#newest = (this.#newest + 1) % this.#generations.length;
    const fresh = this.#generations[this.#newest]!;
    fresh.clear();
    fresh.tryAdd(probe, value, this.#sizes[this.#newest]!);
  }

  delete(reading: ReadingIdentity): void {
    const probe = this.#probeOf(reading);
    if (!probe) return;
    for (const generation of this.#generations) generation.delete(probe);
  }

  get size(): number {
    let size = 0;
    for (const generation of this.#generations) size += generation.size;
    return size;
  }

  /** The most slots one add has walked past in the tables held now (a few with any fair hash): for tests and diagnostics. */
  get longestProbe(): number {
    let longest = 0;
    for (const generation of this.#generations) longest = Math.max(longest, generation.longestProbe);
    return longest;
  }
}

/** Generations in the ring: a lookup that misses asks each (rare: intake.ts skips readings newer than their device's newest). */
const GENERATIONS = 16;

/** A reading's identity in the tables' terms, and the hash that places it. */
interface Probe {
  readonly device: number;
  readonly type: number;
  readonly time: number;
  readonly msgId: string;
  readonly hash: number;
}

const TYPE_NUMBERS = new Map<string, number>(READING_TYPES.map((t, i) => [t, i]));

function identify(seed: number, device: number, reading: ReadingIdentity): Probe {
  // No message id and an empty one are the same key, as in `readingKey`.
  const msgId = reading.msgId ?? '';
  const type = TYPE_NUMBERS.get(reading.type) ?? -1;
  const { time } = reading;
  // FNV-1a over the message id from the window's seed, each step shifted into itself, then the numbers mixed in.
  let hash = 0x811c9dc5 ^ seed;
  for (let i = 0; i < msgId.length; i++) {
    hash = Math.imul(hash ^ msgId.charCodeAt(i), 0x01000193);
    hash ^= hash >>> 13;
  }
  hash = Math.imul(hash ^ device, 0x9e3779b1);
  hash = Math.imul(hash ^ type, 0x85ebca77);
  hash = Math.imul(hash ^ (time >>> 0), 0xc2b2ae3d);
  hash = Math.imul(hash ^ Math.floor(time / 4_294_967_296), 0x27d4eb2f);
  hash ^= hash >>> 15;
  return { device, type, time, msgId, hash: hash >>> 0 };
}

const EMPTY = 0;
const USED = 1;
/** A deleted entry: a lookup probes past it, an add may take its place. */
const DELETED = 2;

/**
 * One generation: a hash table with room for twice its keys (linear probing, so a lookup ends at the first empty
 * slot), its numbers in typed arrays and only references in the two plain arrays: an add allocates nothing.
 */
class Generation<V> {
  readonly #mask: number;
  readonly #state: Uint8Array;
  readonly #hashes: Uint32Array;
  readonly #times: Float64Array;
  readonly #devices: Int32Array;
  readonly #types: Int8Array;
  readonly #msgIds: (string | undefined)[];
  readonly #values: (V | undefined)[];
  #added = 0;
  #size = 0;
  #longestProbe = 0;

  constructor(keys: number) {
    let slots = 4;
    while (slots < keys * 2) slots *= 2;
    this.#mask = slots - 1;
    this.#state = new Uint8Array(slots);
    this.#hashes = new Uint32Array(slots);
    this.#times = new Float64Array(slots);
    this.#devices = new Int32Array(slots);
    this.#types = new Int8Array(slots);
    this.#msgIds = new Array<string | undefined>(slots).fill(undefined);
    this.#values = new Array<V | undefined>(slots).fill(undefined);
  }

  get longestProbe(): number {
    return this.#longestProbe;
  }

  get size(): number {
    return this.#size;
  }

  #find(p: Probe): number {
    for (let slot = p.hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const state = this.#state[slot];
      if (state === EMPTY) return -1;
      if (
        state === USED &&
        this.#hashes[slot] === p.hash &&
        this.#times[slot] === p.time &&
        this.#devices[slot] === p.device &&
        this.#types[slot] === p.type &&
        this.#msgIds[slot] === p.msgId
      ) {
        return slot;
      }
    }
  }

  get(p: Probe): V | undefined {
    const slot = this.#find(p);
    return slot < 0 ? undefined : this.#values[slot];
  }

  /**
   * Adds the key unless it would take an empty slot when `limit` slots have been taken since the last clear (used
   * or deleted since): so used and deleted slots never fill more than half the table, and a lookup always reaches
   * an empty one. A deleted slot on the key's way is taken back instead (a key added again after its delete takes
   * its own back: it is one key).
   */
  tryAdd(p: Probe, value: V, limit: number): boolean {
    let slot = p.hash & this.#mask;
    let walked = 0;
    while (this.#state[slot] === USED) {
      slot = (slot + 1) & this.#mask;
      walked++;
    }
    if (this.#state[slot] === EMPTY) {
      if (this.#added >= limit) return false;
      this.#added++;
    }
    if (walked > this.#longestProbe) this.#longestProbe = walked;
    this.#state[slot] = USED;
    this.#hashes[slot] = p.hash;
    this.#times[slot] = p.time;
    this.#devices[slot] = p.device;
    this.#types[slot] = p.type;
    this.#msgIds[slot] = p.msgId;
    this.#values[slot] = value;
    this.#size++;
    return true;
  }

  delete(p: Probe): void {
    const slot = this.#find(p);
    if (slot < 0) return;
    this.#state[slot] = DELETED;
    this.#msgIds[slot] = undefined;
    this.#values[slot] = undefined;
    this.#size--;
  }

  clear(): void {
    this.#state.fill(EMPTY);
    this.#msgIds.fill(undefined);
    this.#values.fill(undefined);
    this.#added = 0;
    this.#size = 0;
    this.#longestProbe = 0;
  }
}
