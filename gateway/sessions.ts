/**
 * MQTT sessions per device. A device may connect as `<deviceId>` or `<deviceId>.<suffix>`, and every client id
 * with `clean: false` is a session the broker keeps (subscriptions, queued messages) after it disconnects. Like
 * Mosquitto's per-client limits, the number of sessions a device holds is bounded: a new client id beyond the
 * bound replaces the device's least recently connected session that is offline, and is refused when all are online.
 */
export class DeviceSessions {
  readonly #max: number;
  /** Per device, its client ids from least to most recently connected, and whether each is online. */
  readonly #byDevice = new Map<string, Map<string, { online: number; persistent: boolean }>>();

  constructor(maxPerDevice: number) {
    this.#max = maxPerDevice;
  }

  /**
   * Makes room for `clientId` of `deviceId`: answers the client ids whose offline sessions must be dropped to
   * admit it, or `undefined` when it cannot be admitted (every session online).
   */
  reserve(deviceId: string, clientId: string): string[] | undefined {
    const sessions = this.#byDevice.get(deviceId);
    if (!sessions || sessions.has(clientId) || sessions.size < this.#max) return [];
    for (const [id, s] of sessions) {
      if (s.online === 0) return [id];
    }
    return undefined;
  }

  forget(deviceId: string, clientId: string): void {
    const sessions = this.#byDevice.get(deviceId);
    sessions?.delete(clientId);
    if (sessions?.size === 0) this.#byDevice.delete(deviceId);
  }

  connected(deviceId: string, clientId: string, persistent: boolean): void {
    const sessions = this.#byDevice.get(deviceId) ?? new Map<string, { online: number; persistent: boolean }>();
    this.#byDevice.set(deviceId, sessions);
    const s = sessions.get(clientId) ?? { online: 0, persistent };
    sessions.delete(clientId); // re-inserted last: most recently connected
    s.online++;
    s.persistent = persistent;
    sessions.set(clientId, s);
  }

  disconnected(deviceId: string, clientId: string): void {
    const s = this.#byDevice.get(deviceId)?.get(clientId);
    if (!s) return;
    s.online = Math.max(0, s.online - 1);
    // A clean session ends with its connection [MQTT-3.1.2-6]: nothing is kept for it.
    if (s.online === 0 && !s.persistent) this.forget(deviceId, clientId);
  }

  count(deviceId: string): number {
    return this.#byDevice.get(deviceId)?.size ?? 0;
  }
}
