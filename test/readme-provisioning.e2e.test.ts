import { execFile, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir, waitFor } from './support/temp.js';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);
const README = join(import.meta.dirname, '..', 'README.md');
const HEADING = '### Your first device, beside the demo';

/** The shell lines of the README's first-device block, continuation lines joined, comments dropped. */
function readmeLines(): string[] {
  const text = readFileSync(README, 'utf8');
  const from = text.indexOf(HEADING);
  expect(from, `README.md has the section "${HEADING}"`).toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(text.slice(from))?.[1];
  expect(block, 'a ```sh block in that section').toBeDefined();
  return block!
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((line) => line.replace(/\s+#\s.*$/, '').trim())
    .filter(Boolean);
}

/**
 * Issue 14, "Done when": the README's own provisioning lines, run as printed (`npx vigil` is the built CLI,
 * `-p 1883` the demo's port), in the directory of a running `vigil demo` with no --data-dir and no VIGIL_*
 * variable: the patient and device land in the demo's data dir, the reading published as that device is
 * stored and read back, and the dashboard login the README creates sees the patient.
 */
describe("the README's first device, beside a running demo", () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('provisions into the demo, stores the reading the device publishes, and shows the patient to the new login', async () => {
    const lines = readmeLines();
    expect(lines.some((l) => l.startsWith('npx vigil patients add') && l.includes('--team'))).toBe(true);
    expect(lines.some((l) => l.startsWith('npx vigil users add'))).toBe(true);

    const dir = await tempDir();
    cleanups.push(dir.remove);
    // As a newcomer's shell: no VIGIL_* settings at all.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_')));
    const demo = spawn(process.execPath, [CLI, 'demo', '--mqtt-port', '0', '--http-port', '0'], { cwd: dir.path, env, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(() => void demo.kill('SIGKILL'));
    let out = '';
    demo.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    demo.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('Press Ctrl+C') || demo.exitCode !== null, { what: 'the demo banner', timeoutMs: 90_000 });
    expect(demo.exitCode, out.slice(-2000)).toBeNull();
    const mqttPort = /MQTT\s+mqtt:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]!;
    const httpPort = /Dashboard: http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)![1]!;

    // `npx vigil ...` as the built CLI; everything else (mosquitto_pub, $(date ...)) as bash runs it.
    const prelude = `npx() { if [ "$1" = vigil ]; then shift; "${process.execPath}" "${CLI}" "$@"; else command npx "$@"; fi; }\n`;
    const values: Record<string, string> = {};
    const outputs: { line: string; stdout: string; stderr: string }[] = [];
    for (const line of lines) {
      const command = line
        .replace(/-p 1883\b/g, `-p ${mqttPort}`)
        .replace(/<([a-z ]+)>/g, (whole, name: string) => {
          expect(values[name], `${whole} is known before: ${line}`).toBeDefined();
          return values[name]!;
        });
      const run = await exec('bash', ['-c', prelude + command], { cwd: dir.path, env, timeout: 30_000 }).catch((err: { code: number; stdout: string; stderr: string }) => {
        throw new Error(`README line failed (exit ${err.code}): ${line}\n${err.stderr}${err.stdout}`);
      });
      outputs.push({ line, ...run });
      if (line.startsWith('npx vigil patients add')) values['patient id'] = (JSON.parse(run.stdout) as { id: string }).id;
      if (line.startsWith('npx vigil devices add')) {
        const added = JSON.parse(run.stdout) as { deviceId: string; secret: string };
        values.secret = added.secret;
        values['device id'] = added.deviceId;
      }
    }

    // Each vigil command said which data dir it used: the demo's.
    for (const o of outputs.filter((x) => x.line.startsWith('npx vigil'))) {
      expect(o.stderr, o.line).toMatch(/using data dir \.\/demo-data of the Vigil demo running here/);
    }
    // The reading published as the device is stored: the README's readings line shows it, or does on a retry.
    const readingsLine = outputs.find((o) => o.line.startsWith('npx vigil readings'))!;
    const readBack = async () => (await exec(process.execPath, [CLI, 'readings', '--patient', values['patient id']!, '--type', 'blood_pressure', '--since', '1h', '--json'], { cwd: dir.path, env })).stdout;
    if (!readingsLine.stdout.includes('128')) await waitFor(async () => (await readBack()).includes('"systolic":128'), { what: 'the published reading stored', timeoutMs: 20_000 });
    const stored = JSON.parse(await readBack()) as { deviceId: string; fields: Record<string, number> }[];
    expect(stored).toEqual([expect.objectContaining({ deviceId: values['device id'], fields: expect.objectContaining({ systolic: 128, diastolic: 82 }) })]);

    // The login the README creates sees the new patient on the dashboard's worklist.
    const password = /password: (\S+)/.exec(outputs.find((o) => o.line.startsWith('npx vigil users add'))!.stdout)?.[1];
    expect(password).toBeDefined();
    const username = /npx vigil users add (\S+)/.exec(lines.find((l) => l.startsWith('npx vigil users add'))!)![1]!;
    const login = await fetch(`http://127.0.0.1:${httpPort}/api/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username, password }),
    });
    expect(login.status).toBe(200);
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const worklist = (await (await fetch(`http://127.0.0.1:${httpPort}/api/worklist`, { headers: { cookie } })).json()) as { entries: { patient: { id: string } }[] };
    expect(worklist.entries.map((e) => e.patient.id)).toContain(values['patient id']);

    const exited = new Promise<number | null>((resolve) => demo.once('exit', (code) => resolve(code)));
    demo.kill('SIGINT');
    expect(await exited).toBe(0);
  }, 180_000);
});
