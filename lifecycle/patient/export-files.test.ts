import { mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditLog } from '../../state/index.js';
import { smallTmpfs } from '../../test/support/fill-disk.js';
import { reading } from '../../test/support/readings.js';
import { useTempDataDirPerTest, type TempDataDir } from '../../test/support/temp-store.js';
import { exportPatient } from './patient-export.js';

const by = { name: 'cli:operator', origin: 'cli' };

/** The export's directory: the patient's health data, readable by its owner only, and never half written. */
describe('the files of a patient export', () => {
  let dir: TempDataDir['dir'];
  let state: TempDataDir['state'];
  let store: TempDataDir['store'];
  useTempDataDirPerTest((data) => void ({ dir, state, store } = data));

  it('is readable by its owner only, also in a directory an operator made beforehand', async () => {
    const patient = await state.registry.addPatient({ name: 'Owner Only' });
    const out = join(dir.path, 'export');
    await mkdir(out, { mode: 0o755 });
    await exportPatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, out, by });
    expect(((await stat(out)).mode & 0o777).toString(8)).toBe('700');
    for (const name of await readdir(out)) expect(((await stat(join(out, name))).mode & 0o777).toString(8), name).toBe('600');
  });

  it('leaves no partial export behind when the disk fills', async () => {
    const fs = await smallTmpfs('export onto a full disk');
    if (!fs.mounted) return;
    try {
      const patient = await state.registry.addPatient({ name: 'Full Disk' });
      // Readings whose CSV is larger than the 4 MB of room.
      for (let batch = 0; batch < 25; batch++) {
        await store.write(Array.from({ length: 10_000 }, (_, i) => reading({ patientId: patient.id, time: 1_000_000 + batch * 10_000 + i, msgId: `m${batch}-${i}` })));
      }
      const out = join(fs.path, 'export');
      await expect(exportPatient({ db: state.db, audit: new AuditLog(state.db), readings: store, dataDir: dir.path, patientId: patient.id, out, by })).rejects.toThrow(/ENOSPC|no space/i);
      expect(await readdir(out)).toEqual([]);
    } finally {
      await fs.remove();
    }
  });
});
