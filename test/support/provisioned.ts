import { cp } from 'node:fs/promises';
import { openState } from '../../app/state.js';
import { tempDir } from './temp.js';

export interface ProvisionedTemplate {
  /** Each device's patient id. */
  readonly patients: ReadonlyMap<string, string>;
  /** A new data dir holding a copy of the template's state (each worker has its own). */
  copy(): Promise<{ path: string; remove(): Promise<void> }>;
  remove(): Promise<void>;
}

/**
 * A data dir whose registry has one patient per device id, to copy into each worker's data dir: without a shared
 * registry (VIGIL_DATABASE_URL), every worker must know the devices whose readings it takes.
 */
export async function provisionedTemplate(deviceIds: readonly string[], name: string): Promise<ProvisionedTemplate> {
  const template = await tempDir(`vigil-${name}-template-`);
  const patients = new Map<string, string>();
  const { db, registry } = openState(template.path);
  try {
    for (const id of deviceIds) {
      const patient = await registry.addPatient({ name: `${name} ${id}` });
      await registry.addDevice({ patientId: patient.id, id });
      patients.set(id, patient.id);
    }
  } finally {
    db.close();
  }
  return {
    patients,
    async copy() {
      const dir = await tempDir(`vigil-${name}-`);
      await cp(template.path, dir.path, { recursive: true });
      return dir;
    },
    remove: () => template.remove(),
  };
}
