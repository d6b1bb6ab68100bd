import type { Client } from 'aedes';

/**
 * The device an MQTT connection authenticated as. Kept in a WeakMap rather than on the aedes Client object so
 * that nothing a device sends can set it.
 */
const identities = new WeakMap<Client, string>();

export function setDeviceId(client: Client, deviceId: string): void {
  identities.set(client, deviceId);
}

export function deviceIdOf(client: Client | null | undefined): string | undefined {
  return client ? identities.get(client) : undefined;
}

/**
 * A device's client id is its device id, optionally followed by "." and a suffix (a second connection of the
 * same device, e.g. a hub's error listener). Binding the two stops one device from taking over another's
 * session: aedes disconnects an existing client when a new one connects with the same client id.
 */
export function clientIdMatches(clientId: string, deviceId: string): boolean {
  return clientId === deviceId || (clientId.startsWith(`${deviceId}.`) && clientId.length <= deviceId.length + 33);
}
