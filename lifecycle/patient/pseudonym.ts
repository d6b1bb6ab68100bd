import { createHmac } from 'node:crypto';
import type { StateDb } from '../../state/index.js';

/**
 * What the audit log keeps of an erased patient's id: an HMAC-SHA-256 under a random key held in the state
 * database (lifecycle migration 1). The same id always gives the same value, so an operator who is asked
 * "was patient X erased?" can answer, while the log alone does not reveal the id (a plain hash of a short or
 * guessable id could be reversed by trying ids).
 */
export function erasurePseudonym(db: StateDb, patientId: string): string {
  const row = db.prepare<[], { key: Buffer }>('SELECT key FROM erasure_key WHERE id = 1').get();
  if (!row) throw new Error('erasure key missing from the state database');
  return createHmac('sha256', row.key).update(patientId, 'utf8').digest('hex');
}
