export { LIFECYCLE_MIGRATIONS } from './migrations.js';
export { claimInstance, liveInstancePid, refuseServedDataDir, INSTANCE_FILE } from './instance-file.js';
export { bootId, pidTakenSinceWritten, processStartTime, writtenInAnotherBoot } from './process-identity.js';
export { takeBackup, type BackupOptions } from './backup/take-backup.js';
export { restoreBackup, readManifest, verifyBackup, type RestoreOptions, type RestoreResult } from './backup/restore-backup.js';
export { MANIFEST_FILE, BACKUP_FORMAT, type BackupManifest } from './backup/manifest.js';
export * from './retention/index.js';
export * from './patient/index.js';
