/**
 * The sweep at scale. Every 30 s by default the alert sweep looks at every patient (missing data), every device
 * and every live alert (escalation, reminders), on the broker's thread, and writes what changed to the state
 * database. A programme whose patients have stopped measuring, or a test fleet left unplugged, can hold tens of
 * thousands of live missing-data alerts. What matters is what a sweep then costs everyone else: the PUBACKs of the
 * devices that do send, and another process's write to the state database (the CLI acknowledging an alert waits
 * for the write lock, with a busy timeout of 5 s).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openState } from '../app/state.js';
import { PROGRAMMES } from '../domain/index.js';
import { STATE_DB_FILE } from '../state/index.js';
import { runLoad } from './load.js';
import { benchPayload } from './payload.js';
import { processUsage, summarise, type Summary } from './stats.js';
import { startVigil, until } from './targets.js';

export interface SweepOptions {
  /** Patients in every programme who never measure: four live missing-data alerts each. */
  readonly patients: number;
  /** Devices sending normal readings throughout, and their rate across all of them (messages/s). */
  readonly devices: number;
  readonly rate: number;
  /** Seconds of paced load, with a sweep every SWEEP_EVERY_S seconds. */
  readonly seconds: number;
}

export interface SweepResult {
  readonly o: SweepOptions;
  readonly liveAlerts: number;
  readonly puback: Summary & { readonly max: number };
  /** Another process's wait for the state database's write lock, probed every 20 ms. */
  readonly lockWait: Summary & { readonly max: number };
  readonly cpuSeconds: number;
}

/** 5,000 silent patients (20,000 live alerts) beside 10 devices at 1,000 readings/s, unless told otherwise. */
export const SWEEP: SweepOptions = {
  patients: Number(process.env.BENCH_SWEEP_PATIENTS ?? 5_000),
  devices: 10,
  rate: 1_000,
  seconds: 20,
};

const SWEEP_EVERY_S = 5;
const HOUR = 3_600_000;
/** A gap's tenth of an hour changes when (now - enrolment) crosses this (rounded to tenths: 80.05 h). */
const TENTH_BOUNDARY_MS = 800.5 * 360_000;

function withMax(values: readonly number[]): Summary & { max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { ...summarise(sorted), max: sorted.at(-1) ?? Number.NaN };
}

/** Patients in every programme, each with a device, enrolled long enough ago that every rule finds a gap. */
async function seedSilentPatients(dataDir: string, patients: number): Promise<void> {
  const { db, registry } = openState(dataDir);
  for (let i = 0; i < patients; i++) {
    const patient = await registry.addPatient({ name: `Silent ${i}`, programmes: [...PROGRAMMES] });
    await registry.addDevice({ patientId: patient.id, id: `silent-${i}` });
  }
  backdate(db, Date.now() - TENTH_BOUNDARY_MS);
  db.close();
}

/** Every enrolment (and, an hour before, every device assignment) at `enrolledAt`: the gaps count from there. */
function backdate(db: Database.Database, enrolledAt: number): void {
  db.prepare('UPDATE patient_programmes SET enrolled_at = ?').run(enrolledAt);
  db.prepare('UPDATE devices SET assigned_at = ? WHERE patient_id IS NOT NULL').run(enrolledAt - HOUR);
}

/** Takes and gives back the write lock every 20 ms from a thread of its own (the wait is synchronous), as the CLI would. */
function probeWriteLock(path: string, ms: number): Promise<number[]> {
  const sqlite = createRequire(import.meta.url).resolve('better-sqlite3');
  const code = `
    const { workerData, parentPort } = require('node:worker_threads');
    const Database = require(workerData.sqlite);
    const db = new Database(workerData.path, { timeout: 30000 });
    const waits = [];
    const end = Date.now() + workerData.ms;
    const probe = () => {
      const t = performance.now();
      db.exec('BEGIN IMMEDIATE');
      waits.push(performance.now() - t);
      db.exec('ROLLBACK');
      if (Date.now() < end) setTimeout(probe, 20);
      else { db.close(); parentPort.postMessage(waits); }
    };
    probe();`;
  const worker = new Worker(code, { eval: true, workerData: { sqlite, path, ms } });
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

export async function sweepAtScale(o: SweepOptions): Promise<SweepResult> {
  let dataDir = '';
  const target = await startVigil(o.devices, { VIGIL_ALERT_SWEEP_CRON: `*/${SWEEP_EVERY_S} * * * * *` }, 'Vigil, sweep at scale', async (dir) => {
    dataDir = dir;
    await seedSilentPatients(dir, o.patients);
  });
  const statePath = join(dataDir, STATE_DB_FILE);
  const state = new Database(statePath, { readonly: true, timeout: 30_000 });
  try {
    const live = () => (state.prepare("SELECT count(*) AS n FROM alerts WHERE status != 'resolved'").get() as { n: number }).n;
    // The first sweep opens every patient's alerts.
    await until(async () => live() >= o.patients * PROGRAMMES.length, 'the silent patients\' alerts', 120_000);
    let before = processUsage(target.pid);
    let probe: Promise<number[]> = Promise.resolve([]);
    const load = await runLoad({
      url: target.url,
      devices: target.devices,
      perDevice: Math.ceil((o.rate * o.seconds) / o.devices),
      window: 20,
      payload: benchPayload,
      ratePerSecond: o.rate,
      warmUpPerDevice: 200,
      afterWarmUp: () => {
        // Half way through, every gap's tenth of an hour changes: one sweep rewrites every alert, the others find
        // nothing new (as every sweep between two tenths does).
        const writer = new Database(statePath, { timeout: 30_000 });
        backdate(writer, Date.now() + (o.seconds * 1000) / 2 - TENTH_BOUNDARY_MS);
        writer.close();
        before = processUsage(target.pid);
        probe = probeWriteLock(statePath, o.seconds * 1000);
      },
    });
    const after = processUsage(target.pid);
    return {
      o,
      liveAlerts: live(),
      puback: withMax(load.pubackMs),
      lockWait: withMax(await probe),
      cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    };
  } finally {
    state.close();
    await target.stop();
  }
}

const ms = (v: number) => v.toLocaleString('en', { maximumFractionDigits: v < 100 ? 1 : 0 });
const dist = (s: Summary & { max: number }) => `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`;

export function sweepTable(results: readonly SweepResult[]): string {
  const o = results[0]!.o;
  return [
    `${o.devices} devices at ${o.rate.toLocaleString('en')} readings/s for ${o.seconds} s, a sweep every ${SWEEP_EVERY_S} s:`,
    '',
    '| live alerts | publish to PUBACK p50 / p99 / max (ms) | another process waits for the write lock p50 / p99 / max (ms) | Vigil CPU s |',
    '|---|---|---|---|',
    ...results.map((r) => `| ${r.liveAlerts.toLocaleString('en')} | ${dist(r.puback)} | ${dist(r.lockWait)} | ${r.cpuSeconds.toFixed(1)} |`),
  ].join('\n');
}
