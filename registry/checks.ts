import { randomBytes } from 'node:crypto';
import { entityIdSchema, isProgramme, VigilError, type Programme } from '../domain/index.js';

/** Care team names: short, printable, as typed by an administrator ("cardiology-north"). */
export const CARE_TEAM = /^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$/;

export function checkCareTeam(team: string | null | undefined): string | null {
  if (team === null || team === undefined || team === '') return null;
  if (!CARE_TEAM.test(team)) throw new VigilError('VIGIL_ERR_CONFIG', `care team "${team}" must be 1-64 letters, digits, spaces, _ . or -`);
  return team;
}

export function checkProgrammes(programmes: readonly string[]): Programme[] {
  for (const p of programmes) {
    if (!isProgramme(p)) throw new VigilError('VIGIL_ERR_CONFIG', `unknown programme "${p}"`);
  }
  return [...new Set(programmes as Programme[])];
}

export function newId(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

export function checkId(id: string, what: string): string {
  const parsed = entityIdSchema.safeParse(id);
  if (!parsed.success) throw new VigilError('VIGIL_ERR_CONFIG', `${what} id "${id}" ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}
