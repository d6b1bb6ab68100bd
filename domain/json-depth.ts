/**
 * How deeply parsed JSON may nest. JSON.parse takes any depth, but JSON.stringify and every other recursive walk
 * (zod, the rejection log, an HTTP answer) overflow the stack a few thousand levels down (issue: 20,000 nested
 * arrays in one reading made the rejection log lose a whole batch). No reading, SenML pack, Nightscout document or
 * API request needs more than a handful of levels (Loop's and AndroidAPS's devicestatus, the deepest, about 6): a
 * body nested deeper than this is refused where it comes in, with VIGIL_ERR_TOO_DEEP, before anything walks it.
 */
export const MAX_JSON_DEPTH = 32;

/**
 * Whether `value` nests arrays and objects more than `limit` levels deep (a scalar is depth 0, `[]` and `{}` 1).
 * It stops at the first container past the limit, so it recurses at most `limit + 1` calls deep whatever it is
 * given: the check cannot overflow the stack itself. It runs on every published payload, so it allocates nothing.
 */
export function nestedDeeperThan(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (limit <= 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (nestedDeeperThan(value[i], limit - 1)) return true;
    return false;
  }
  for (const key in value) if (nestedDeeperThan((value as Record<string, unknown>)[key], limit - 1)) return true;
  return false;
}
