import type { DeviceStatus } from '../domain/index.js';

/** An ordinary device sends readings; a hub also reads its inbox and replies (docs/hub-protocol.md). */
export const DEVICE_KINDS = ['device', 'hub'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export interface Device {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly patientId: string | null;
  readonly createdAt: number;
  readonly revokedAt: number | null;
  readonly online: boolean;
  readonly battery: number | null;
  readonly firmware: string | null;
  readonly lastSeenAt: number | null;
  readonly statusAt: number | null;
  /** When the device was assigned to its current patient (epoch ms); null while unassigned. */
  readonly assignedAt: number | null;
  /** End of the sensor warm-up the device declared on its status (epoch ms), during which it sends no readings. */
  readonly warmUpUntil: number | null;
}

/**
 * What the gateway saw of a device: its own status message (`status`), or a connection opening or closing.
 * Only the device's status message speaks for its sensor (warm-up); a connection event does not.
 */
export type DeviceStatusChange =
  | { readonly kind: 'status'; readonly deviceId: string; readonly status: DeviceStatus; readonly at: number }
  | { readonly kind: 'connected' | 'disconnected'; readonly deviceId: string; readonly at: number };

export type DeviceAuthResult = 'ok' | 'unknown' | 'bad-secret' | 'revoked';

/** A Nightscout API secret check: as a device login, or the device has no verifier yet (provisioned before it existed). */
export type NightscoutAuthResult = DeviceAuthResult | 'no-verifier';

export interface DeviceRow {
  id: string;
  kind: DeviceKind;
  patient_id: string | null;
  secret_hash: string;
  created_at: number;
  revoked_at: number | null;
  online: number;
  battery: number | null;
  firmware: string | null;
  last_seen_at: number | null;
  status_at: number | null;
  assigned_at: number | null;
  warm_up_until: number | null;
  ns_verifier: string | null;
}

export function toDevice(row: DeviceRow): Device {
  return {
    id: row.id,
    kind: row.kind,
    patientId: row.patient_id,
    createdAt: row.created_at,
    revokedAt: row.revoked_at,
    online: row.online === 1,
    battery: row.battery,
    firmware: row.firmware,
    lastSeenAt: row.last_seen_at,
    statusAt: row.status_at,
    assignedAt: row.assigned_at,
    warmUpUntil: row.warm_up_until,
  };
}
