import { afterEach, describe, expect, it } from 'vitest';
import type { Alert } from '../../alerts/index.js';
import { openState } from '../../app/state.js';
import type { Reading } from '../../domain/index.js';
import { tempDir } from '../../test/support/temp.js';
import { LatestReadings } from './latest-readings.js';
import { buildWorklist } from './worklist.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const H = 3_600_000;

function alert(id: number, patientId: string, severity: Alert['severity'], status: Alert['status'], openedAt: number): Alert {
  return { id, patientId, severity, status, openedAt, updatedAt: openedAt, title: `${severity} ${id}`, message: '', ruleId: 'r', subject: '' } as Alert;
}

function reading(patientId: string, time: number, systolic = 120): Reading {
  return { type: 'blood_pressure', deviceId: `${patientId}-cuff`, patientId, time, receivedAt: time, late: false, fields: { systolic, diastolic: 80 }, tags: {} };
}

describe('worklist ranking', () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0)) await c();
  });

  it('puts unacknowledged critical first, then acknowledged critical, warnings, silent patients, info, the stable', async () => {
    const dir = await tempDir();
    const { db } = openState(dir.path);
    const latest = new LatestReadings(db, 60_000);
    cleanups.push(() => latest.close(), () => db.close(), dir.remove);
    const patients = ['stable', 'info', 'silent', 'warn', 'crit-ack', 'crit-old', 'crit-new'].map((id) => ({ id, name: id, programmes: [], careTeam: null }));
    latest.note(patients.filter((p) => p.id !== 'silent').map((p) => reading(p.id, NOW - H)));
    latest.note([reading('silent', NOW - 30 * H)]);
    const alerts = [
      alert(1, 'crit-ack', 'critical', 'acknowledged', NOW - 5 * H),
      alert(2, 'crit-new', 'critical', 'open', NOW - 1 * H),
      alert(3, 'crit-old', 'critical', 'open', NOW - 3 * H),
      alert(4, 'warn', 'warning', 'open', NOW - 2 * H),
      alert(5, 'info', 'info', 'open', NOW - 2 * H),
      alert(6, 'crit-new', 'warning', 'open', NOW),
    ];
    const list = buildWorklist(patients, alerts, latest, NOW, 24 * H);
    expect(list.map((e) => `${e.patient.id}:${e.attention}`)).toEqual([
      'crit-old:critical',
      'crit-new:critical',
      'crit-ack:critical',
      'warn:warning',
      'silent:silent',
      'info:info',
      'stable:ok',
    ]);
    const top = list.find((e) => e.patient.id === 'crit-new')!;
    expect(top.liveAlerts).toEqual({ critical: 1, warning: 1, info: 0 });
    expect(top.topAlert?.severity).toBe('critical');
    expect(top.latest[0]?.fields.systolic).toBe(120);
  });

  it('ranks by the risk score within a group, never across groups, and explains it per row', async () => {
    const dir = await tempDir();
    const { db } = openState(dir.path);
    const latest = new LatestReadings(db, 60_000);
    cleanups.push(() => latest.close(), () => db.close(), dir.remove);
    const patients = ['calm', 'low-bp', 'gaining', 'warn'].map((id) => ({ id, name: id, programmes: [], careTeam: null }));
    // All measured an hour ago. low-bp: systolic 95 scores 2 (NEWS2); calm: 120 scores 0; warn: 85 scores 3.
    // gaining: 120 (0) and a live weight-gain alert: +1, but the alert makes it a warning, a group of its own.
    latest.note([reading('calm', NOW - H, 120), reading('low-bp', NOW - H, 95), reading('gaining', NOW - H, 120), reading('warn', NOW - H, 85)]);
    const gain = { ...alert(7, 'gaining', 'warning', 'open', NOW - 2 * H), ruleId: 'weight.gain', title: 'Weight gain (fluid retention)' } as Alert;
    const warn = alert(8, 'warn', 'warning', 'open', NOW - 2 * H);
    const list = buildWorklist(patients, [gain, warn], latest, NOW, 24 * H);
    // Warnings: warn (3) before gaining (1), though both alerts waited as long; then ok: low-bp (2) before calm (0).
    expect(list.map((e) => `${e.patient.id}:${e.risk.score}`)).toEqual(['warn:3', 'gaining:1', 'low-bp:2', 'calm:0']);
    expect(list.find((e) => e.patient.id === 'gaining')!.risk.text).toBe('systolic BP 120 mmHg: 0, Weight gain (fluid retention): 1');
  });

  it('keeps the latest reading per type, ignores an older backlog, and survives a restart', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const first = openState(dir.path);
    // Latest readings are kept only for patients in the registry (an erased patient's are not written back).
    await first.registry.addPatient({ id: 'p', name: 'P' });
    const latest = new LatestReadings(first.db, 60_000);
    expect(latest.note([reading('p', NOW, 150)])).toHaveLength(1);
    expect(latest.note([reading('p', NOW - H, 110)])).toHaveLength(0);
    latest.close();
    first.db.close();
    const second = openState(dir.path);
    const reopened = new LatestReadings(second.db, 60_000);
    cleanups.push(() => reopened.close(), () => second.db.close());
    expect(reopened.of('p').get('blood_pressure')?.fields.systolic).toBe(150);
    expect(reopened.lastAt('p')).toBe(NOW);
  });
});
