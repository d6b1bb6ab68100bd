import { deviceStatusSchema, MAX_STATUS_BYTES, MAX_WARM_UP_AHEAD_MS, type DeviceStatus } from '../domain/index.js';

/**
 * A device's status message (docs/device-protocol.md), checked the same way whichever broker carried it: the
 * embedded gateway and a worker on an external broker both record only what passes here.
 */
export function parseDeviceStatus(payload: Buffer, now: number): { readonly status: DeviceStatus } | { readonly problem: string } {
  if (payload.length > MAX_STATUS_BYTES) return { problem: `status is ${payload.length} bytes; at most ${MAX_STATUS_BYTES}` };
  let parsed;
  try {
    parsed = deviceStatusSchema.safeParse(JSON.parse(payload.toString('utf8')));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    return { problem: 'status must be {"online": boolean, "battery"?: 0-100, "firmware"?: string, "warmUpUntil"?: RFC 3339 time with offset}' };
  }
  const warmUpUntil = parsed.data.warmUpUntil === undefined ? undefined : Date.parse(parsed.data.warmUpUntil);
  if (warmUpUntil !== undefined && warmUpUntil - now > MAX_WARM_UP_AHEAD_MS) {
    return { problem: `warmUpUntil is more than ${MAX_WARM_UP_AHEAD_MS / 3_600_000} h ahead (check the device clock)` };
  }
  return { status: parsed.data };
}
