import type { StateDb } from '../../state/index.js';
import type { Finding } from '../evaluate/finding.js';

/** A finding made on this instance that the shared alerts (PostgreSQL) have not taken yet. */
export interface WaitingFinding {
  readonly seq: number;
  readonly patientId: string;
  readonly ruleId: string;
  readonly finding: Finding;
  readonly late: boolean;
  /** When it was evaluated (epoch ms): its alert is opened or updated as of then. */
  readonly at: number;
  readonly fromSweep: boolean;
  /** The PostgreSQL transaction that may have written it already (its COMMIT's answer was lost), if one may have. */
  readonly txid: string | undefined;
}

interface Row {
  seq: number;
  patient_id: string;
  rule_id: string;
  finding: string;
  late: number;
  at: number;
  from_sweep: number;
  txid: string | null;
}

/**
 * Findings on their way to the shared alerts, kept in the instance's own state database until PostgreSQL has
 * taken them. A reading is evaluated once, when it is committed: a finding that only lived in memory while
 * PostgreSQL was away was lost if the instance stopped or crashed meanwhile, and a patient in danger reached no
 * one. Kept here, it is written by the next start on the same data dir instead.
 */
export class WaitingFindings {
  readonly #s;
  readonly #db: StateDb;

  constructor(db: StateDb) {
    this.#db = db;
    this.#s = {
      keep: db.prepare('INSERT INTO alert_findings_waiting (patient_id, rule_id, finding, late, at, from_sweep) VALUES (?, ?, ?, ?, ?, ?)'),
      done: db.prepare('DELETE FROM alert_findings_waiting WHERE seq = ?'),
      noteTxid: db.prepare('UPDATE alert_findings_waiting SET txid = ? WHERE seq = ?'),
      all: db.prepare<[], Row>('SELECT * FROM alert_findings_waiting ORDER BY seq'),
      count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM alert_findings_waiting'),
    };
  }

  /** Keeps a finding until `done(seq)`; returns its seq. */
  keep(patientId: string, ruleId: string, finding: Finding, late: boolean, at: number, fromSweep: boolean): number {
    return Number(this.#s.keep.run(patientId, ruleId, JSON.stringify(finding), late ? 1 : 0, at, fromSweep ? 1 : 0).lastInsertRowid);
  }

  /** Runs `work` (several `keep`s) in one transaction: one fsync for all of them. */
  together(work: () => void): void {
    this.#db.transaction(work)();
  }

  /** The finding may have been written by PostgreSQL transaction `txid`, whose COMMIT's answer was lost. */
  noteTxid(seq: number, txid: string): void {
    this.#s.noteTxid.run(txid, seq);
  }

  /** The finding is in the shared alerts (or can never be: it is dropped). */
  done(seq: number): void {
    this.#s.done.run(seq);
  }

  /** Every waiting finding, oldest first. */
  list(): WaitingFinding[] {
    return this.#s.all.all().map((r) => ({ seq: r.seq, patientId: r.patient_id, ruleId: r.rule_id, finding: JSON.parse(r.finding) as Finding, late: r.late === 1, at: r.at, fromSweep: r.from_sweep === 1, txid: r.txid ?? undefined }));
  }

  count(): number {
    return this.#s.count.get()!.n;
  }
}
