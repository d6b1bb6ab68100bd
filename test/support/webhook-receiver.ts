import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webhookSignature } from '../../alerts/index.js';

export interface ReceivedDelivery {
  readonly seq: number;
  readonly type: string;
  readonly change?: string;
  readonly alert: {
    id: number;
    patientId: string;
    ruleId: string;
    status: string;
    severity: string;
    escalationLevel: number;
    late: boolean;
    latestValues: Record<string, number>;
    backInRangeAt: number | null;
  };
  readonly signatureValid: boolean;
}

/** A real HTTP receiver for alert webhooks that checks signatures and can be told to fail (503). */
export async function startWebhookReceiver(secret: string) {
  const received: ReceivedDelivery[] = [];
  let failing = false;
  let hanging = false;
  let refused = 0;
  const held = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (hanging) {
        // A stalled receiver: it reads the request and never answers.
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      if (failing) {
        refused += 1;
        res.writeHead(503).end();
        return;
      }
      const timestamp = String(req.headers['x-vigil-timestamp']);
      const parsed = JSON.parse(body) as Omit<ReceivedDelivery, 'signatureValid'>;
      received.push({ ...parsed, signatureValid: req.headers['x-vigil-signature'] === webhookSignature(secret, timestamp, body) });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    refusedCount: () => refused,
    setFailing(value: boolean) {
      failing = value;
    },
    setHanging(value: boolean) {
      hanging = value;
      if (!value) for (const res of held) res.destroy();
    },
    close: () => {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
