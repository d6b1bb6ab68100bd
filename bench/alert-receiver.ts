/** The alert webhook receiver the bench's Vigil rows deliver to, inside the bench process. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The secret the bench's Vigil signs its deliveries with (the receiver does not check them). */
export const BENCH_WEBHOOK_SECRET = 'bench-webhook-secret-0123456789';

/**
 * Notes when each patient's first `alert.opened` arrives. `delayMs`: how long it takes to answer each delivery
 * (a pager service across the internet: tens of ms); 0 answers at once.
 */
export async function startAlertReceiver(delayMs = 0) {
  const openedAt = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString()) as { type: string; alert: { patientId: string } };
      if (event.type === 'alert.opened' && !openedAt.has(event.alert.patientId)) openedAt.set(event.alert.patientId, performance.now());
      if (delayMs > 0) setTimeout(() => res.writeHead(204).end(), delayMs);
      else res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    openedAt,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
