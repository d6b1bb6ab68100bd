/**
 * The dashboard under a programme's load: 5,000 patients (10 care teams, a tenth with open alerts), a live
 * stream of readings from simulated devices over MQTT, one administrator watching the worklist in a headless
 * Chromium. Measures how fast the worklist API answers, how long the page takes from "Log in" to a drawn
 * worklist, how long a critical reading takes from its PUBACK to the alert feed on screen, and whether the page
 * stays responsive (long tasks) while the stream runs.
 */
import { connect, type MqttClient } from 'mqtt';
import { get } from 'node:http';
import { Registry as MetricsRegistry } from 'prom-client';
import { chromium } from 'playwright-core';
import { createAlerts } from '../alerts/index.js';
import { openState, patientDirectory } from '../app/state.js';
import { LatestReadings, SqlUserStore } from '../dashboard/index.js';
import type { Programme, Reading, ReadingType } from '../domain/index.js';
import { SqliteStore } from '../ingest/index.js';
import { AuditLog, sqliteClient } from '../state/index.js';
import { processUsage, summarise, type Summary } from './stats.js';
import { startVigil } from './targets.js';

const PATIENTS = Number(process.env.BENCH_DASHBOARD_PATIENTS ?? 5000);
const STREAM_DEVICES = 20;
const STREAM_INTERVAL_MS = 100;
const STREAM_SECONDS = Number(process.env.BENCH_DASHBOARD_SECONDS ?? 20);
const PROBES = 10;
/** Other clinicians with the whole worklist open: each refreshes it every VIEWER_INTERVAL_MS, as the page does for 5,000 patients. */
const VIEWERS = Number(process.env.BENCH_DASHBOARD_VIEWERS ?? 25);
const VIEWER_INTERVAL_MS = 5_000;
const PASSWORD = 'bench password 0123456789';
const PROGRAMMES: Programme[] = ['hypertension', 'diabetes', 'heart_failure', 'copd'];
const silent = { warn() {}, info() {}, error() {} };

export interface DashboardBench {
  readonly patients: number;
  readonly worklistApi: Summary;
  readonly worklistBytes: number;
  readonly worklistWireBytes: number;
  readonly firstPaint: Summary;
  readonly reopen: Summary;
  readonly alertToScreen: Summary;
  readonly readingsPerSecond: number;
  /** Publish to PUBACK of the stream's readings, while the page and the viewers watch. */
  readonly streamPuback: Summary & { max: number };
  readonly viewers: number;
  readonly viewerFetches: number;
  readonly longTasks: { count: number; maxMs: number; totalMs: number };
  readonly vigilPeakRssMiB: number;
}

function reading(patientId: string, type: ReadingType, time: number, fields: Record<string, number>): Reading {
  return { type, deviceId: `${patientId}-seed`, patientId, time, receivedAt: time, late: false, fields, tags: {} };
}

/** 5,000 patients with a day of latest readings and, for one in ten, an open alert, written before start. */
async function seed(dataDir: string): Promise<void> {
  const { db, registry } = openState(dataDir);
  const now = Date.now();
  const readings: Reading[] = [];
  for (let i = 0; i < PATIENTS; i++) {
    const programme = PROGRAMMES[i % PROGRAMMES.length]!;
    const patient = await registry.addPatient({ id: `pt-${String(i).padStart(5, '0')}`, name: `Patient ${String(i).padStart(5, '0')}`, programmes: [programme], careTeam: `ward-${i % 10}` });
    const t = now - ((i * 7919) % (36 * 3_600_000));
    const crisis = i % 10 === 0;
    readings.push(reading(patient.id, 'blood_pressure', t, { systolic: crisis ? 190 : 120 + (i % 25), diastolic: crisis ? 112 : 78, pulse: 70 }));
    if (programme === 'diabetes') readings.push(reading(patient.id, 'glucose', t, { value: i % 20 === 1 ? 50 : 110 }));
    if (programme === 'heart_failure') readings.push(reading(patient.id, 'weight', t, { value: 70 + (i % 30) }));
    if (programme === 'copd') readings.push(reading(patient.id, 'spo2', t, { value: i % 20 === 3 ? 86 : 95 }));
  }
  const latest = new LatestReadings(db, 60_000);
  latest.note(readings);
  latest.close();
  const store = new SqliteStore(dataDir);
  await store.write(readings);
  const alerts = await createAlerts({
    db,
    audit: new AuditLog(db),
    history: store,
    directory: patientDirectory(registry, () => new Map()),
    metrics: new MetricsRegistry(),
    log: silent,
    escalateAfterMinutes: 15,
    realertHours: { critical: 4, warning: 24, info: 0 },
    snoozeMaxHours: 24,
    lateAfterMinutes: 60,
    sweepCron: '0 0 0 1 1 *',
  });
  alerts.evaluation.onCommitted(readings);
  await alerts.close();
  await store.close();
  await new SqlUserStore(sqliteClient(db)).add({ username: 'bench', role: 'admin', password: PASSWORD });
  db.close();
}

export async function benchDashboard(chromiumPath: string): Promise<DashboardBench> {
  const target = await startVigil(STREAM_DEVICES + PROBES, {}, 'Vigil dashboard', seed);
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--mute-audio'] });
  const clients: MqttClient[] = [];
  let running = false;
  try {
    const base = target.httpUrl!;
    // The API: the ranked worklist of every patient, as an administrator sees it.
    const login = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bench', password: PASSWORD }) });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const apiMs: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const body = await (await fetch(`${base}/api/worklist`, { headers: { cookie, 'x-vigil-background': '1', 'accept-encoding': 'identity' } })).text();
      apiMs.push(performance.now() - started);
      bytes = body.length;
    }
    // node:http, not fetch: fetch decompresses, and the bytes on the wire are the point here.
    const wireBytes = await new Promise<number>((resolve, reject) => {
      get(`${base}/api/worklist`, { headers: { cookie, 'x-vigil-background': '1', 'accept-encoding': 'gzip' } }, (res) => {
        let n = 0;
        res.on('data', (chunk: Buffer) => (n += chunk.length));
        res.on('end', () => resolve(n));
      }).on('error', reject);
    });

    // The page: from "Log in" to the first worklist rows drawn, three fresh logins.
    const paint: number[] = [];
    let page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    for (let i = 0; i < 3; i++) {
      const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
      page = await context.newPage();
      await page.goto(base);
      await page.fill('#username', 'bench');
      await page.fill('#password', PASSWORD);
      const started = performance.now();
      await page.click('button[type=submit]');
      await page.waitForSelector('.wl-row', { timeout: 30_000 });
      paint.push(performance.now() - started);
      if (i < 2) await context.close();
    }
    // Opening the page again with a session (a clinician's morning tab): navigation to the worklist drawn.
    const reopen: number[] = [];
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      await page.reload();
      await page.waitForSelector('.wl-row', { timeout: 30_000 });
      reopen.push(performance.now() - started);
    }
    await page.waitForSelector('.live-pill.state-live');
    // Browser-side code as text: this file is compiled for Node, without the DOM's types.
    await page.evaluate(`window.__longTasks = [];
      new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longTasks.push(e.duration); }).observe({ type: 'longtask' });`);

    // The stream: readings from simulated devices, and critical probes timed from PUBACK to the feed on screen.
    const devices = target.devices.slice(0, STREAM_DEVICES);
    const probes = target.devices.slice(STREAM_DEVICES);
    for (const d of target.devices) {
      const client = connect(target.url, { clientId: d.deviceId, username: d.deviceId, password: d.secret, reconnectPeriod: 0 });
      clients.push(client);
      await new Promise((resolve) => client.once('connect', resolve));
    }
    let sent = 0;
    const pubackMs: number[] = [];
    running = true;
    const stream = Promise.all(
      devices.map(async (d, k) => {
        const client = clients[k]!;
        for (let n = 0; running; n++) {
          const published = performance.now();
          await client.publishAsync(`rpm/v1/devices/${d.deviceId}/readings`, JSON.stringify({ type: 'heart_rate', time: new Date().toISOString(), value: 60 + (n % 30), id: `s${n}` }), { qos: 1 });
          pubackMs.push(performance.now() - published);
          sent++;
          await new Promise((resolve) => setTimeout(resolve, STREAM_INTERVAL_MS));
        }
      }),
    );
    // The other clinicians' worklists, refreshed on the page's schedule (staggered), as a browser asks for them.
    let viewerFetches = 0;
    const viewers = Promise.all(
      Array.from({ length: VIEWERS }, async (_, k) => {
        await new Promise((resolve) => setTimeout(resolve, (k * VIEWER_INTERVAL_MS) / VIEWERS));
        while (running) {
          const started = performance.now();
          await (await fetch(`${base}/api/worklist`, { headers: { cookie, 'x-vigil-background': '1', 'accept-encoding': 'gzip' } })).arrayBuffer();
          viewerFetches++;
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, VIEWER_INTERVAL_MS - (performance.now() - started))));
        }
      }),
    );
    const streamStarted = performance.now();
    const toScreen: number[] = [];
    for (const [k, probe] of probes.entries()) {
      await new Promise((resolve) => setTimeout(resolve, (STREAM_SECONDS * 1000) / (PROBES + 1)));
      const client = clients[STREAM_DEVICES + k]!;
      await client.publishAsync(`rpm/v1/devices/${probe.deviceId}/readings`, JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 200, diastolic: 120, id: 'probe' }), { qos: 1 });
      const acked = performance.now();
      await page.locator(`.feed-item a[href="#/patients/${probe.patientId}"]`).waitFor({ timeout: 30_000 });
      toScreen.push(performance.now() - acked);
    }
    running = false;
    await stream;
    await viewers;
    const streamSeconds = (performance.now() - streamStarted) / 1000;
    const longTasks = (await page.evaluate('window.__longTasks')) as number[];
    return {
      patients: PATIENTS,
      worklistApi: summarise(apiMs),
      worklistBytes: bytes,
      worklistWireBytes: wireBytes,
      firstPaint: summarise(paint),
      reopen: summarise(reopen),
      alertToScreen: summarise(toScreen),
      readingsPerSecond: sent / streamSeconds,
      streamPuback: { ...summarise(pubackMs), max: Math.max(0, ...pubackMs) },
      viewers: VIEWERS,
      viewerFetches,
      longTasks: { count: longTasks.length, maxMs: Math.max(0, ...longTasks), totalMs: longTasks.reduce((a, b) => a + b, 0) },
      vigilPeakRssMiB: processUsage(target.pid).peakRssMiB,
    };
  } finally {
    running = false;
    await new Promise((resolve) => setTimeout(resolve, STREAM_INTERVAL_MS * 2));
    await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
    await browser.close();
    await target.stop();
  }
}

export function dashboardTable(r: DashboardBench): string {
  const f = (v: number, d = 0) => v.toFixed(d);
  return [
    '| measure | p50 | p99 / max | n |',
    '|---|---|---|---|',
    `| \`GET /api/worklist\`, ${r.patients.toLocaleString('en')} patients ranked (${f(r.worklistBytes / 1024)} KiB of JSON) | ${f(r.worklistApi.p50)} ms | ${f(r.worklistApi.p99)} ms | ${r.worklistApi.n} |`,
    `| page opened with a session to the worklist drawn (Chromium) | ${f(r.reopen.p50)} ms | ${f(r.reopen.p99)} ms | ${r.reopen.n} |`,
    `| "Log in" clicked to the worklist drawn (includes the deliberate scrypt cost of checking the password) | ${f(r.firstPaint.p50)} ms | ${f(r.firstPaint.p99)} ms | ${r.firstPaint.n} |`,
    `| critical reading's PUBACK to the alert in the feed on screen, during a stream of ${f(r.readingsPerSecond)} readings/s | ${f(r.alertToScreen.p50)} ms | ${f(r.alertToScreen.p99)} ms | ${r.alertToScreen.n} |`,
    `| the stream's publish to PUBACK, while the page and ${r.viewers} other clinicians' worklists (${r.viewerFetches} fetches, each every ${VIEWER_INTERVAL_MS / 1000} s) refresh | ${f(r.streamPuback.p50, 1)} ms | ${f(r.streamPuback.p99, 1)} / ${f(r.streamPuback.max, 1)} ms | ${r.streamPuback.n} |`,
    `| page long tasks (> 50 ms) during the stream | total ${f(r.longTasks.totalMs)} ms | longest ${f(r.longTasks.maxMs)} ms | ${r.longTasks.count} |`,
    `| the same worklist on the wire with gzip | ${f(r.worklistWireBytes / 1024)} KiB | | |`,
    `| Vigil peak RSS | ${f(r.vigilPeakRssMiB)} MiB | | |`,
  ].join('\n');
}
