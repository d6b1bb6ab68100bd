import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { standardWebhookSignature, webhookSignature } from '../../alerts/index.js';

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
  /** The Standard Webhooks signature checked with `standardSecret` (one of the space-separated signatures matches). */
  readonly standardValid: boolean;
  readonly replay?: boolean;
}

/** A real HTTP receiver for alert webhooks that checks signatures and can be told to fail (503). */
export async function startWebhookReceiver(secret: string, standardSecret = secret) {
  const received: ReceivedDelivery[] = [];
  let failing = false;
  /** Deliveries this answers with a 4xx (the receiver refuses their content). */
  let refuse: ((body: Omit<ReceivedDelivery, 'signatureValid' | 'standardValid'>) => number | undefined) | undefined;
  const refusedBodies: number[] = [];
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
      const parsed = JSON.parse(body) as Omit<ReceivedDelivery, 'signatureValid' | 'standardValid'>;
      const status = refuse?.(parsed);
      if (status !== undefined) {
        refusedBodies.push(parsed.seq);
        res.writeHead(status).end();
        return;
      }
      const expected = standardWebhookSignature([standardSecret], String(req.headers['webhook-id']), String(req.headers['webhook-timestamp']), body);
      const standardValid = String(req.headers['webhook-signature']).split(' ').includes(expected);
      received.push({ ...parsed, signatureValid: req.headers['x-vigil-signature'] === webhookSignature(secret, timestamp, body), standardValid });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    refusedCount: () => refused,
    /** Seqs answered with a refusal (4xx), in order. */
    refusedSeqs: () => [...refusedBodies],
    setRefusing(predicate: typeof refuse) {
      refuse = predicate;
    },
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
