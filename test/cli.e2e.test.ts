import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { AuditLog } from '../state/index.js';
import { tempDir, waitFor } from './support/temp.js';
import { CLI, startVigilProcess, type VigilProcess } from './support/vigil-process.js';

const exec = promisify(execFile);

async function vigil(args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function mosquittoPub(args: string[]) {
  try {
    await exec('mosquitto_pub', args, { timeout: 15_000 });
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

/** The built `vigil` command as a user runs it: a server process, provisioning beside it, mosquitto_pub as a device. */
describe('vigil CLI', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildProcess;
  let mqttPort: number;
  let httpPort: number;
  let env: Record<string, string>;
  let vigilProcess: VigilProcess;

  beforeAll(async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    dir = await tempDir();
    vigilProcess = await startVigilProcess({ VIGIL_DATA_DIR: dir.path });
    server = vigilProcess.child;
    ({ mqttPort, httpPort } = vigilProcess);
    env = { VIGIL_DATA_DIR: dir.path, VIGIL_BIND_HOST: '127.0.0.1', VIGIL_MQTT_PORT: String(mqttPort), VIGIL_HTTP_PORT: String(httpPort) };
  });

  afterAll(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await dir?.remove();
  });

  it('explains itself with --help on every command', async () => {
    for (const args of [['--help'], ['start', '--help'], ['demo', '--help'], ['patients', 'add', '--help'], ['devices', 'add', '--help'], ['devices', 'revoke', '--help'], ['patients', 'set-time-zone', '--help'], ['devices', 'assign', '--help'], ['readings', '--help'], ['rejections', '--help'], ['rejections', 'replay', '--help'], ['dead-letters', 'replay', '--help']]) {
      const result = await vigil(args);
      expect(result.code, args.join(' ')).toBe(0);
      expect(result.stdout).toMatch(/Usage: vigil/);
    }
  });

  it('names the bad variable when the configuration is invalid', async () => {
    const result = await vigil(['start'], { ...env, VIGIL_MQTT_PORT: 'eighteen', VIGIL_INFLUX_URL: 'ftp://x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/VIGIL_MQTT_PORT/);
    expect(result.stderr).toMatch(/VIGIL_INFLUX_URL/);
  });

  it('says which port is in use instead of failing with a stack trace', async () => {
    // Its own data dir: a second start on the served one is refused before it binds (test/cli-running-instance).
    const second = await vigil(['start'], { ...env, VIGIL_DATA_DIR: join(dir.path, 'second') });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`cannot listen on 127\\.0\\.0\\.1:(${env.VIGIL_MQTT_PORT}|${env.VIGIL_HTTP_PORT}): the port is in use`));
  });

  it('provisions while the server runs; a device publishes with mosquitto_pub and sees its rejects; revoke locks it out', async () => {
    const patient = await vigil(['patients', 'add', '--name', 'Ada Example', '--programme', 'hypertension', '--json'], env);
    expect(patient.code).toBe(0);
    const { id: patientId } = JSON.parse(patient.stdout) as { id: string };
    const added = await vigil(['devices', 'add', '--patient', patientId, '--id', 'cuff-7', '--json'], env);
    const { deviceId, secret } = JSON.parse(added.stdout) as { deviceId: string; secret: string };
    expect(deviceId).toBe('cuff-7');
    expect(secret.length).toBeGreaterThanOrEqual(40);
    expect((await vigil(['devices', 'add', '--patient', 'no-such-patient'], env)).code).toBe(1);
    expect((await vigil(['patients', 'list'], env)).stdout).toContain('Ada Example');
    // Provisioning from the command line is in the audit log, with who and from where.
    const state = openState(env.VIGIL_DATA_DIR!);
    try {
      const entries = new AuditLog(state.db).list({ patientId });
      expect(entries.map((e) => e.action)).toEqual(expect.arrayContaining(['patient.add', 'device.add']));
      expect(entries.every((e) => e.origin === 'cli' && e.actor.startsWith('cli:'))).toBe(true);
    } finally {
      state.db.close();
    }

    const listener = connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: `${deviceId}.errors`, username: deviceId, password: secret });
    const errors: { ref: string; code: string }[] = [];
    listener.on('message', (_t, payload) => errors.push(JSON.parse(payload.toString())));
    await new Promise((resolve) => listener.once('connect', resolve));
    await listener.subscribeAsync(`rpm/v1/devices/${deviceId}/errors`, { qos: 1 });

    const base = ['-h', '127.0.0.1', '-p', String(mqttPort), '-i', deviceId, '-u', deviceId, '-P', secret, '-q', '1', '-t', `rpm/v1/devices/${deviceId}/readings`];
    const now = new Date().toISOString();
    expect(await mosquittoPub([...base, '-m', JSON.stringify({ type: 'blood_pressure', time: now, systolic: 128, diastolic: 82, pulse: 70, id: 'a1' })])).toBe(0);
    expect(await mosquittoPub([...base, '-m', JSON.stringify({ type: 'blood_pressure', time: now, systolic: 82, diastolic: 128, id: 'a2' })])).toBe(0);
    await waitFor(() => errors.length === 1, { what: 'the rejection on the errors topic' });
    expect(errors[0]).toMatchObject({ ref: 'a2', code: 'VIGIL_ERR_BP_ORDER' });

    const readings = await waitFor(async () => {
      const r = await vigil(['readings', '--patient', patientId, '--type', 'blood_pressure', '--json'], env);
      const points = JSON.parse(r.stdout) as { fields: { systolic: number } }[];
      return points.length === 1 && points;
    }, { what: 'the reading stored' });
    expect(readings[0]!.fields.systolic).toBe(128);
    expect((await vigil(['rejections', '--device', deviceId], env)).stdout).toContain('VIGIL_ERR_BP_ORDER');
    expect((await vigil(['devices', 'list'], env)).stdout).toContain('cuff-7');

    // An alert from a crisis reading, acknowledged from the command line while the server runs.
    expect(await mosquittoPub([...base, '-m', JSON.stringify({ type: 'blood_pressure', time: new Date().toISOString(), systolic: 196, diastolic: 104, id: 'a3' })])).toBe(0);
    const alerts = await waitFor(async () => {
      const list = JSON.parse((await vigil(['alerts', 'list', '--json'], env)).stdout) as { id: number; ruleId: string }[];
      return list.length > 0 && list;
    }, { what: 'the crisis alert' });
    expect(alerts[0]!.ruleId).toBe('bp.crisis');
    expect((await vigil(['alerts', 'ack', String(alerts[0]!.id), '--by', 'Dr Grey', '--note', 'phoned'], env)).stdout).toMatch(/acknowledged/);
    expect((await vigil(['alerts', 'ack', String(alerts[0]!.id), '--by', 'Dr Grey'], env)).code).toBe(1);
    expect((await vigil(['rules', 'list', '--patient', patientId], env)).stdout).toContain('bp.home_average');
    expect((await vigil(['rules', 'set', patientId, 'bp.crisis', '{"clearMargin": -1}', '--by', 'Dr Grey', '--reason', 'typo'], env)).code).toBe(2);
    // A misspelled value name would be stored and change nothing: refused, naming it.
    const misspelled = await vigil(['rules', 'set', patientId, 'bp.crisis', '{"clearMargn": 5}', '--by', 'Dr Grey', '--reason', 'typo'], env);
    expect(misspelled).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown key clearMargn.*\[VIGIL_ERR_CONFIG\]/) });
    // A guideline critical limit is a floor: disabling the crisis rule is refused, and says why.
    const floor = await vigil(['rules', 'set', patientId, 'bp.crisis', '{"enabled": false}', '--by', 'Dr Grey', '--reason', 'too many alerts'], env);
    expect(floor.code).toBe(1);
    expect(floor.stderr).toMatch(/bp\.crisis.*safety floor.*\[VIGIL_ERR_SAFETY_FLOOR\]/);
    expect((await vigil(['rules', 'preset', patientId, 'spo2.copd_target', '--by', 'Dr Grey'], env)).stdout).toMatch(/spo2.copd_target applied/);

    const listenerClosed = new Promise<void>((resolve) => listener.once('close', () => resolve()));
    expect((await vigil(['devices', 'revoke', deviceId], env)).code).toBe(0);
    await listenerClosed;
    listener.end(true);
    expect(await mosquittoPub([...base, '-m', JSON.stringify({ type: 'blood_pressure', time: now, systolic: 120, diastolic: 80 })])).not.toBe(0);
  });

  it("keeps each patient's time zone and enrolment times", async () => {
    const help = await vigil(['patients', 'set-time-zone', '--help']);
    expect(help.stdout).toMatch(/Example:\n  vigil patients set-time-zone p-\w+ America\/New_York/);
    const london = JSON.parse((await vigil(['patients', 'add', '--name', 'Zed', '--time-zone', 'europe/london', '--programme', 'diabetes', '--json'], env)).stdout) as { id: string };
    const tokyo = JSON.parse((await vigil(['patients', 'add', '--name', 'Yan', '--json'], { ...env, VIGIL_DEFAULT_TIME_ZONE: 'Asia/Tokyo' })).stdout) as { id: string };
    const bad = await vigil(['patients', 'add', '--name', 'Xu', '--time-zone', 'Mars/Olympus'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/'Mars\/Olympus' is invalid\. Allowed: an IANA time zone/);
    type Listed = { id: string; timeZone: string; programmes: string[]; enrolledAt: Record<string, number>; createdAt: number };
    const listed = () => vigil(['patients', 'list', '--json'], env).then((r) => new Map((JSON.parse(r.stdout) as Listed[]).map((p) => [p.id, p])));
    const before = await listed();
    expect(before.get(london.id)).toMatchObject({ timeZone: 'Europe/London', programmes: ['diabetes'], enrolledAt: { diabetes: before.get(london.id)!.createdAt } });
    expect(before.get(tokyo.id)?.timeZone).toBe('Asia/Tokyo');
    expect((await vigil(['patients', 'list'], env)).stdout).toMatch(/time zone[\s\S]*Europe\/London/);

    expect((await vigil(['patients', 'set-time-zone', london.id, 'America/New_York'], env)).stdout).toBe(`patient ${london.id}: time zone America/New_York\n`);
    expect((await vigil(['patients', 'set-time-zone', 'p-nobody', 'UTC'], env)).code).toBe(1);
    expect((await vigil(['patients', 'set-programmes', london.id, 'diabetes', 'copd'], env)).code).toBe(0);
    const after = (await listed()).get(london.id)!;
    expect(after.timeZone).toBe('America/New_York');
    expect(after.enrolledAt.diabetes).toBe(before.get(london.id)!.enrolledAt.diabetes);
    expect(after.enrolledAt.copd).toBeGreaterThanOrEqual(after.enrolledAt.diabetes!);
  });

  // Its own test: each CLI call is a Node process of about a second, and one test of 17 came near the timeout.
  it('reassigns a device to another patient and unassigns it', async () => {
    const first = JSON.parse((await vigil(['patients', 'add', '--name', 'Wu', '--json'], env)).stdout) as { id: string };
    const second = JSON.parse((await vigil(['patients', 'add', '--name', 'Vic', '--json'], env)).stdout) as { id: string };
    await vigil(['devices', 'add', '--patient', first.id, '--id', 'cgm-9', '--json'], env);
    expect((await vigil(['devices', 'assign', 'cgm-9', second.id], env)).code).toBe(0);
    type Device = { id: string; patientId: string | null; assignedAt: number | null; createdAt: number; warmUpUntil: number | null };
    const device = async () => (JSON.parse((await vigil(['devices', 'list', '--json'], env)).stdout) as Device[]).find((d) => d.id === 'cgm-9')!;
    const moved = await device();
    expect(moved).toMatchObject({ patientId: second.id, warmUpUntil: null });
    expect(moved.assignedAt).toBeGreaterThan(moved.createdAt);
    expect((await vigil(['devices', 'unassign', 'cgm-9'], env)).code).toBe(0);
    expect(await device()).toMatchObject({ patientId: null, assignedAt: null });
  });

  it('audits what the command line reads: patient and device lists, a patient\'s readings, alerts', async () => {
    const patient = JSON.parse((await vigil(['patients', 'add', '--name', 'Read Audit', '--json'], env)).stdout) as { id: string };
    for (const args of [['patients', 'list'], ['devices', 'list', '--json'], ['readings', '--patient', patient.id, '--type', 'weight'], ['alerts', 'list', '--patient', patient.id]]) {
      expect((await vigil(args, env)).code, args.join(' ')).toBe(0);
    }
    const state = openState(env.VIGIL_DATA_DIR!);
    try {
      const log = new AuditLog(state.db);
      const latest = (action: string) => log.list({ action, limit: 1 })[0];
      expect(latest('patients.list')).toMatchObject({ origin: 'cli', actor: expect.stringMatching(/^cli:/) });
      expect(latest('devices.list')).toMatchObject({ origin: 'cli' });
      expect(latest('patient.readings.view')).toMatchObject({ patientId: patient.id, target: 'weight', origin: 'cli' });
      expect(latest('alerts.view')).toMatchObject({ patientId: patient.id, origin: 'cli' });
    } finally {
      state.db.close();
    }
  });

  it('stops cleanly on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(vigilProcess.output()).not.toMatch(/Ada Example/);
    expect(vigilProcess.output()).toMatch(/Vigil stopped/);
  });
});
