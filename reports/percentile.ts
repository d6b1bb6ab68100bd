/**
 * The p-th percentile (0-100) of values sorted ascending, interpolated linearly between closest ranks (the
 * "inclusive" definition: Hyndman and Fan type 7, numpy's and spreadsheets' default). Undefined for no values.
 */
export function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  const rank = (p / 100) * (sorted.length - 1);
  const lower = Math.floor(rank);
  const upper = Math.ceil(rank);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (rank - lower);
}

export function round(v: number, decimals = 1): number {
  return Math.round(v * 10 ** decimals) / 10 ** decimals;
}
