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
 * Walked with an explicit stack, not recursion, so that the check itself cannot overflow; it stops at the first
 * container past the limit.
 */
export function nestedDeeperThan(value: unknown, limit: number = MAX_JSON_DEPTH): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    if (typeof next.value !== 'object' || next.value === null) continue;
    const depth = next.depth + 1;
    if (depth > limit) return true;
    const children = Array.isArray(next.value) ? next.value : Object.values(next.value);
    for (const child of children) if (typeof child === 'object' && child !== null) stack.push({ value: child, depth });
  }
  return false;
}
