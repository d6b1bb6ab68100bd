import type { PatientCare, PatientCheckins } from '../domain/index.js';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

/** The quick start's first command: `vigil demo` runs Vigil with its fleet, and alerts arrive for every programme. */
describe('vigil demo', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('starts Vigil and a simulated fleet, prints how to connect, shows alerts for every programme, and stops on SIGINT', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const child = spawn(process.execPath, [CLI, 'demo', '--interval', '0.5'], {
      cwd: dir.path,
      env: { ...process.env, VIGIL_DATA_DIR: dir.path, VIGIL_MQTT_PORT: '0', VIGIL_HTTP_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));

    await waitFor(() => out.includes('Press Ctrl+C'), { what: 'the demo banner', timeoutMs: 60_000 });
    expect(out).toMatch(/mosquitto_pub -h 127\.0\.0\.1 -p \d+ -i demo-your-device/);
    const token = /Authorization: Bearer ([0-9a-f]{48})/.exec(out)?.[1];
    const httpPort = /http:\/\/127\.0\.0\.1:(\d+)\/api\/alerts/.exec(out)?.[1];
    expect(token).toBeDefined();

    // Each programme's patient crosses one of its rules (backfilled history or an episode).
    for (const patient of ['demo-hypertension', 'demo-diabetes', 'demo-heart-failure', 'demo-copd', 'demo-healthy']) {
      await waitFor(() => new RegExp(`OPENED\\s+\\w+\\s+${patient}`).test(out), { what: `an alert for ${patient}`, timeoutMs: 60_000 });
    }
    // The demo's stories: a critical crisis from a hub's backlog that is back in range and latches, and a second
    // fall that notifies again on its own.
    await waitFor(() => /BACK_IN_RANGE\s+critical\s+demo-hypertension .*back in range since \d\d:\d\d; waits for a person/.test(out), { what: 'a latched critical', timeoutMs: 30_000 });
    await waitFor(() => /AGAIN:event\s+critical\s+demo-healthy /.test(out), { what: 'a second fall re-notifying', timeoutMs: 30_000 });
    const api = await fetch(`http://127.0.0.1:${httpPort}/api/alerts`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    expect(((await api.json()) as { alerts: unknown[] }).alerts.length).toBeGreaterThanOrEqual(5);
    // The dashboard: the printed clinician account logs in and sees all five patients, alerts first.
    const password = /log in as clinician\s+password (\S+)/.exec(out)?.[1];
    expect(out).toContain(`Dashboard: http://127.0.0.1:${httpPort}/`);
    expect(password).toMatch(/^[\w-]{16}$/);
    const login = await fetch(`http://127.0.0.1:${httpPort}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'clinician', password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const worklist = (await (await fetch(`http://127.0.0.1:${httpPort}/api/worklist`, { headers: { cookie } })).json()) as { entries: { attention: string }[] };
    expect(worklist.entries).toHaveLength(5);
    expect(['critical', 'warning']).toContain(worklist.entries[0]!.attention);
    // The care loop: demo patients follow plans with different adherence, shown with the message thread.
    const care = async (id: string) => (await (await fetch(`http://127.0.0.1:${httpPort}/api/patients/${id}/care`, { headers: { authorization: `Bearer ${token}` } })).json()) as PatientCare;
    const [hypertension, copd] = [await care('demo-hypertension'), await care('demo-copd')];
    expect(hypertension.hub).toMatchObject({ id: 'demo-hypertension-hub', online: true });
    // The crisis story plays on a device of its own: the hub app keeps its secret, and a message reaches it.
    const sent = await fetch(`http://127.0.0.1:${httpPort}/api/patients/demo-hypertension/care/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'Please measure your blood pressure now.' }),
    });
    expect(sent.status).toBe(201);
    const messageId = ((await sent.json()) as { id: string }).id;
    await waitFor(async () => (await care('demo-hypertension')).messages.find((m) => m.id === messageId)?.deliveredAt, { what: "the hub's delivery receipt", timeoutMs: 30_000 });
    // Education for the hub: on the plan (with every reminder) and on the crisis rule (with a message about one).
    expect(hypertension.education.map((e) => e.attachTo)).toEqual(['bp.crisis', 'plan']);
    expect(hypertension.adherence.measurements[0]!.planned).toBeGreaterThan(0);
    const share = (c: PatientCare) => c.adherence.medications[0]!.share!;
    expect(share(hypertension)).toBeGreaterThan(share(copd));
    expect(hypertension.adherence.measurements[0]!.share!).toBeGreaterThan(copd.adherence.measurements[0]!.share!);
    // Heart failure and COPD patients have symptom check-ins, with a week of answers for the timeline.
    const checkins = async (id: string) => (await (await fetch(`http://127.0.0.1:${httpPort}/api/patients/${id}/care/checkins`, { headers: { authorization: `Bearer ${token}` } })).json()) as PatientCheckins;
    const [hf, lung, bp] = [await checkins('demo-heart-failure'), await checkins('demo-copd'), await checkins('demo-hypertension')];
    expect(hf.plan?.checkins.map((c) => c.questionnaire)).toEqual(['hf_daily']);
    expect(lung.plan?.checkins.map((c) => c.questionnaire)).toEqual(['copd_daily']);
    expect(bp.plan).toBeNull();
    expect(new Set(hf.answers.map((a) => a.question))).toEqual(new Set(['breathlessness', 'ankle_swelling', 'orthopnoea']));
    expect(lung.answers.length).toBeGreaterThan(0);
    await waitFor(() => /stored \d+ readings/.test(out), { what: 'a progress line', timeoutMs: 30_000 });

    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });

  /** Runs the demo until its banner (or its exit) and stops it; answers what it printed and its exit code. */
  async function demoOutput(env: Record<string, string>): Promise<{ out: string; code: number | null }> {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const child = spawn(process.execPath, [CLI, 'demo'], {
      cwd: dir.path,
      env: { ...process.env, VIGIL_DATA_DIR: dir.path, VIGIL_MQTT_PORT: '0', VIGIL_HTTP_PORT: '0', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let done = false;
    void exited.then(() => (done = true));
    await waitFor(() => done || out.includes('Press Ctrl+C'), { what: 'the demo banner or its exit', timeoutMs: 60_000 });
    if (!done) child.kill('SIGINT');
    return { out, code: await exited };
  }

  it('takes its API token from VIGIL_ADMIN_TOKEN_FILE when one is given, and prints that one', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const file = `${dir.path}/admin-token`;
    await writeFile(file, 'demo-token-from-a-file-0123456789\n');
    const { out, code } = await demoOutput({ VIGIL_ADMIN_TOKEN_FILE: file });
    expect(out).toContain("Authorization: Bearer demo-token-from-a-file-0123456789'");
    expect(code).toBe(0);
  });

  it('refuses an external broker with one line saying what to do instead', async () => {
    const { out, code } = await demoOutput({ VIGIL_BROKER_URL: 'mqtt://127.0.0.1:1', VIGIL_BROKER_CLIENT_ID: 'worker-1' });
    expect(code).toBe(2);
    expect(out.trim()).toBe('vigil: VIGIL_BROKER_URL: the demo runs its embedded broker; unset it (for worker mode, run `vigil start` with it and `vigil simulate --url <your broker>`) [VIGIL_ERR_CONFIG]');
  });
});
