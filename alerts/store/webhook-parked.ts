import type { ParkedDelivery as ParkedDeliveryShape } from '../../domain/index.js';
import type { StateDb } from '../../state/index.js';

/** A delivery the receiver refused (4xx) after every retry: kept, counted, shown and replayable (domain/api/webhook.ts). */
export type ParkedDelivery = Readonly<ParkedDeliveryShape>;

interface Row {
  seq: number;
  status: number | null;
  error: string;
  attempts: number;
  parked_at: number;
  replay: number;
}

const toParked = (r: Row): ParkedDelivery => ({ seq: r.seq, status: r.status, error: r.error, attempts: r.attempts, parkedAt: r.parked_at, replayRequested: r.replay === 1 });

/** Parked webhook deliveries in the state database (the server parks and replays; the CLI can ask for replays). */
export class WebhookParking {
  readonly #s;

  constructor(db: StateDb) {
    this.#s = {
      park: db.prepare(
        `INSERT INTO webhook_parked (seq, status, error, attempts, parked_at, replay) VALUES (?, ?, ?, ?, ?, 0)
         ON CONFLICT (seq) DO UPDATE SET status = excluded.status, error = excluded.error, attempts = attempts + excluded.attempts, parked_at = excluded.parked_at, replay = 0`,
      ),
      list: db.prepare<[number], Row>('SELECT * FROM webhook_parked ORDER BY seq LIMIT ?'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM webhook_parked'),
      requested: db.prepare<[], Row>('SELECT * FROM webhook_parked WHERE replay = 1 ORDER BY seq LIMIT 100'),
      request: db.prepare('UPDATE webhook_parked SET replay = 1 WHERE seq = ?'),
      requestAll: db.prepare('UPDATE webhook_parked SET replay = 1'),
      remove: db.prepare('DELETE FROM webhook_parked WHERE seq = ?'),
    };
  }

  park(seq: number, status: number | null, error: string, attempts: number, at: number): void {
    this.#s.park.run(seq, status, error, attempts, at);
  }

  list(limit = 500): ParkedDelivery[] {
    return this.#s.list.all(limit).map(toParked);
  }

  count(): number {
    return this.#s.count.get()!.n;
  }

  replayRequested(): ParkedDelivery[] {
    return this.#s.requested.all().map(toParked);
  }

  /** Asks for one parked delivery (or, without a seq, all of them) to be sent again; returns how many. */
  requestReplay(seq?: number): number {
    return (seq === undefined ? this.#s.requestAll.run() : this.#s.request.run(seq)).changes;
  }

  remove(seq: number): void {
    this.#s.remove.run(seq);
  }
}
