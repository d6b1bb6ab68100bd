export { CARE_TEAM, DEVICE_KINDS, Registry, type Device, type DeviceAuthResult, type DeviceKind, type DeviceStatusChange, type NightscoutAuthResult, type Patient, type RegistryOptions } from './registry.js';
export { REGISTRY_MIGRATIONS } from './migrations.js';
export { RegistryReplica } from './replica.js';
export { REGISTRY_POSTGRES_MIGRATIONS, shareRegistry, type SharedRegistry, type SharedRegistryOptions } from './shared.js';
export { hashSecret, verifySecret } from './secrets.js';
