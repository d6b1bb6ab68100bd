export { DynsecControl, type DynsecCommands, type DynsecLogin } from './control.js';
export { DynsecProvisioner, type ReconcileReport, type WorkerLogin } from './provisioner.js';
export { startDynsecSync, type DynsecSync } from './sync.js';
