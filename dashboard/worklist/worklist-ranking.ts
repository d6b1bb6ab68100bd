import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Alert } from '../../alerts/index.js';
import type { LatestReadings } from './latest-readings.js';
import { alertsByPatient, rankOrder, worklistEntry, type RankedEntry, type WorklistPatient } from './worklist.js';

/** Where a ranking's parts come from, read when it is built. */
export interface RankingSources<P extends WorklistPatient> {
  patients(): P[];
  liveAlerts(): Alert[];
  /** Patients whose SpO2 is scored on NEWS2 scale 2. */
  spo2Scale2(): ReadonlySet<string>;
  /** The alert feed's newest sequence number: any transition, from any process, moves it. */
  alertSeq(): number;
  readonly latest: LatestReadings;
  /**
   * Rows the shared registry's replica (PostgreSQL, another instance's changes) has applied here: written on this
   * server's own connection, so SQLite's data_version does not move for them. Absent without a shared registry.
   */
  replicatedChanges?(): number;
  silentAfterMs(): number;
  now(): number;
}

/** One ranked patient, with their row already serialised (UTF-8 JSON): the answers of a ranking's lifetime share it. */
export interface RankedRow<P extends WorklistPatient> extends RankedEntry<P> {
  readonly bytes: Buffer;
}

/** A view of a ranking: the rows one caller may see and asked for, and the care teams of those they may see. */
export interface RankingView {
  /** The rows as JSON array elements, joined by commas, UTF-8. */
  readonly rows: Buffer;
  readonly count: number;
  readonly teams: readonly string[];
  /** The ids of the rows shown, in order: whether readings newer than the ranking concern this view. */
  readonly ids: readonly string[];
  /** Whole answers compressed, by encoding and `newerReadings` (worklist-answer.ts), for the ranking's life. */
  readonly encoded: Map<string, Promise<Buffer>>;
}

/** Views kept per ranking (care teams and filters): a ranking lives a second, so few differ. */
const MAX_VIEWS = 64;
/**
 * And the bytes they may hold together. A view of every patient is the whole list (4.4 MB with 5,000 patients),
 * so 64 of them (an administrator's or a script's filters that each match most patients: "a", "e", "1", ...)
 * held 280 MB for as long as the ranking lasted, and again for the next; an answer not kept is assembled for
 * its caller alone, as every answer was before the shared ranking.
 */
export const MAX_VIEW_BYTES = 32 * 1024 * 1024;

/** Every patient's row, ranked, as of `generatedAt`. */
export class Ranking<P extends WorklistPatient> {
  readonly #views = new Map<string, RankingView>();
  #viewBytes = 0;

  constructor(
    readonly generatedAt: number,
    /** The alert feed's position its alerts reflect. */
    readonly lastSeq: number,
    /** The latest readings' version it reflects: once they move on, the ranking is out of date. */
    readonly latestVersion: number,
    readonly rows: readonly RankedRow<P>[],
    readonly maxViewBytes = MAX_VIEW_BYTES,
  ) {}

  /**
   * The rows `key` names (whom they are for and the filters asked), made by `select` once for every caller who
   * asks for the same while the ranking lasts: a 5,000-patient list is 4 MB of JSON, which took milliseconds
   * to assemble and, as a string, to measure and encode again for every answer.
   */
  view(key: string, select: (row: RankedRow<P>) => 'shown' | 'counted' | 'hidden'): RankingView {
    const kept = this.#views.get(key);
    if (kept) return kept;
    const teams = new Set<string>();
    const parts: Buffer[] = [];
    const ids: string[] = [];
    for (const row of this.rows) {
      const seen = select(row);
      if (seen === 'hidden') continue;
      const team = row.entry.patient.careTeam;
      if (team !== null) teams.add(team);
      if (seen === 'shown') (parts.push(row.bytes), ids.push(row.entry.patient.id));
    }
    const rows = Buffer.alloc(parts.reduce((n, b) => n + b.length, 0) + Math.max(0, parts.length - 1));
    let at = 0;
    for (const [i, b] of parts.entries()) {
      if (i > 0) rows[at++] = 0x2c; // ','
      at += b.copy(rows, at);
    }
    const view: RankingView = { rows, count: parts.length, teams: [...teams].sort(), ids, encoded: new Map() };
    if (this.#views.size < MAX_VIEWS && this.#viewBytes + rows.length <= this.maxViewBytes) {
      this.#views.set(key, view);
      this.#viewBytes += rows.length;
    }
    return view;
  }
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** One build of the ranking; `read` is undefined until it has read its sources (while it waits its turn). */
interface Build<P extends WorklistPatient> {
  readonly order: number;
  read: { readonly seq: number; readonly generation: number; readonly dataVersion: number; readonly scale2: ReadonlySet<string> } | undefined;
  ranking: Promise<Ranking<P>>;
}

export interface RankingOptions {
  /** How long one ranking serves every caller while only readings change. */
  readonly maxAgeMs?: number;
  /** Rows computed in one turn of the event loop. */
  readonly sliceSize?: number;
  /** The bytes of views a ranking keeps (MAX_VIEW_BYTES). */
  readonly maxViewBytes?: number;
}

/**
 * The worklist's ranking of every patient, shared by all who ask for it within `maxAgeMs` (a second).
 *
 * Ranking 5,000 patients and serialising their rows took 50-130 ms of the event loop that also acknowledges every
 * device's readings, and each open page asks again every few seconds while readings arrive: twenty-five open
 * pages held up every PUBACK for a quarter of the time (docs/benchmarks.md, "The dashboard with 5,000 patients").
 * So one ranking, made in slices of `sliceSize` rows with a turn of the event loop between them, serves every
 * caller and every care team's view of it (each filters the rows it may see), until it is a second old.
 *
 * What must show at once does: an alert transition (the feed's sequence moves), `invalidate()` (a change to the
 * registry made here), a commit to the state database by another process (the CLI: a patient moved to another
 * care team must leave the former team's list at once) or a change to who has the SpO2 target preset makes the
 * next caller wait for a new ranking. Readings newer than a ranking are at most a second old, and `isBehind`
 * says so for the patients a view shows, so that a page can ask again. A registry change made on another
 * instance (shared registry) arrives as rows its replica applies here, which `replicatedChanges` counts.
 */
export class WorklistRanking<P extends WorklistPatient> {
  readonly #sources: RankingSources<P>;
  readonly #maxAgeMs: number;
  readonly #sliceSize: number;
  readonly #maxViewBytes: number;
  #current: Ranking<P> | undefined;
  /** The order of the build that made `#current` (builds are numbered as they are asked for). */
  #currentBuild = -1;
  /** The invalidation `#current` was built after. */
  #builtGeneration = -1;
  /** The state database's data_version `#current` read its patients at (`LatestReadings.dataVersion`). */
  #builtDataVersion = -1;
  /** The patients whose SpO2 `#current` scored on scale 2. */
  #builtScale2: ReadonlySet<string> = new Set();
  /** The latest build asked for: queued behind the one before it, or reading, or ranking. */
  #building: Build<P> | undefined;
  #builds = 0;
  #generation = 0;

  constructor(sources: RankingSources<P>, options: RankingOptions = {}) {
    this.#sources = sources;
    this.#maxAgeMs = options.maxAgeMs ?? 1_000;
    this.#sliceSize = options.sliceSize ?? 250;
    this.#maxViewBytes = options.maxViewBytes ?? MAX_VIEW_BYTES;
  }

  /** A ranking that reflects every alert transition stored so far and every registry change made here. */
  async current(): Promise<Ranking<P>> {
    const seq = this.#sources.alertSeq();
    // Another process (the CLI) committed to the state database: perhaps a patient moved to another care team
    // or erased. Served for a second more, the old team would still get the moved patient's row, and everyone
    // the erased patient's; other routes read the registry afresh, so a ranking must not be older than it.
    const dataVersion = this.#changedElsewhere();
    // A preset applied on the patient's page (or ending) moves neither the feed nor the registry, yet rescores
    // the patient's SpO2 (the risk that ranks them): the ranking is made again when the set differs.
    const scale2 = this.#sources.spo2Scale2();
    const current = this.#current;
    if (current && current.lastSeq === seq && this.#builtGeneration === this.#generation && this.#builtDataVersion === dataVersion && sameSet(this.#builtScale2, scale2) && this.#young(current)) return current;
    // A build still waiting for the one before it reads the feed and the registry when it starts, after this
    // call: it serves this caller whatever moved meanwhile. Without this, a feed that moves between callers (an
    // alert.updated event with every reading of a patient with a live alert) queued one whole build per caller,
    // each waiting for all those before it. A build that has read its sources serves only a caller who would
    // read the same.
    const building = this.#building;
    if (building && (building.read === undefined || (building.read.seq === seq && building.read.generation === this.#generation && building.read.dataVersion === dataVersion && sameSet(building.read.scale2, scale2)))) return building.ranking;
    const build: Build<P> = { order: this.#builds++, read: undefined, ranking: undefined as unknown as Promise<Ranking<P>> };
    const ranking = this.#build(building?.ranking, build).then((r) => {
      if (this.#building === build) this.#building = undefined;
      // The later build wins, not the later `generatedAt`: the wall clock may step back.
      if (build.order > this.#currentBuild) {
        this.#current = r;
        this.#currentBuild = build.order;
        this.#builtGeneration = build.read!.generation;
        this.#builtDataVersion = build.read!.dataVersion;
        this.#builtScale2 = build.read!.scale2;
      }
      return r;
    });
    ranking.catch(() => {
      if (this.#building === build) this.#building = undefined;
    });
    build.ranking = ranking;
    this.#building = build;
    return ranking;
  }

  /**
   * Whether a ranking is young enough to serve. One made "in the future" (the wall clock stepped back since, as
   * NTP may step it) is of unknown age: without this it was served, readings never in it, until the clock
   * caught up, an hour for an hour's step.
   */
  #young(ranking: Ranking<P>): boolean {
    const age = this.#sources.now() - ranking.generatedAt;
    return age >= 0 && age < this.#maxAgeMs;
  }

  /**
   * Whether readings have arrived since the ranking was made: of the patients a view shows, given one. A page
   * told so asks again; told so for any patient's readings, a care team's page was reloaded (a whole list, every
   * two seconds) for other teams' readings while any device sent, and learnt when those came.
   */
  isBehind(ranking: Ranking<P>, view?: RankingView): boolean {
    const latest = this.#sources.latest;
    if (latest.version === ranking.latestVersion) return false;
    if (!view) return true;
    return view.ids.some((id) => latest.changedSince(id, ranking.latestVersion));
  }

  /**
   * A number that moves with every change to the state database made elsewhere: by another process (data_version)
   * or another instance through the shared registry (its replica's rows). Both only grow, so their sum moves when
   * either does.
   */
  #changedElsewhere(): number {
    return this.#sources.latest.dataVersion() + (this.#sources.replicatedChanges?.() ?? 0);
  }

  /** The registry changed here (a patient erased, moved): the next caller gets a new ranking. */
  invalidate(): void {
    this.#generation++;
  }

  async #build(after: Promise<Ranking<P>> | undefined, build: Build<P>): Promise<Ranking<P>> {
    // One build at a time: two would take twice the event loop for the same answer.
    if (after) await after.catch(() => undefined);
    const s = this.#sources;
    // Read together, in one turn, so that the alerts are those of `lastSeq` (and the registry that of `generation`).
    const now = s.now();
    const lastSeq = s.alertSeq();
    const scale2 = s.spo2Scale2();
    build.read = { seq: lastSeq, generation: this.#generation, dataVersion: this.#changedElsewhere(), scale2 };
    const latestVersion = s.latest.version;
    const patients = s.patients();
    const byPatient = alertsByPatient(s.liveAlerts());
    const silentAfterMs = s.silentAfterMs();
    const rows: RankedRow<P>[] = [];
    for (let i = 0; i < patients.length; i++) {
      if (i > 0 && i % this.#sliceSize === 0) await nextTurn();
      const patient = patients[i]!;
      // The latest readings move between slices; a row reflects them as of its own slice, newer than `latestVersion`.
      const ranked = worklistEntry(patient, byPatient.get(patient.id) ?? [], s.latest, now, silentAfterMs, scale2.has(patient.id));
      rows.push({ ...ranked, bytes: Buffer.from(JSON.stringify(ranked.entry)) });
    }
    rows.sort(rankOrder);
    return new Ranking(now, lastSeq, latestVersion, rows, this.#maxViewBytes);
  }
}
