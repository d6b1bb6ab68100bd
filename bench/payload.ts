const base = Date.now() - 3_600_000;

/** Message n of a device (negative n: a warm-up message): about 150 bytes, as a real heart-rate reading with its id. */
export function benchPayload(deviceId: string, n: number): string {
  return JSON.stringify({ type: 'heart_rate', time: new Date(base + n * 50).toISOString(), value: 60 + (Math.abs(n) % 40), id: `${deviceId}-${n}-padding-to-150b` });
}
