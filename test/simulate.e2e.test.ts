import { execFile, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCENARIOS } from '../simulators/index.js';
import { tempDir } from './support/temp.js';
import { CLI, startVigilProcess } from './support/vigil-process.js';

const exec = promisify(execFile);

/** `vigil simulate` against a real `vigil start`: every scenario passes --verify, and a failure is reported. */
describe('vigil simulate', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: ChildProcess;
  let env: Record<string, string>;

  async function simulate(args: string[], extraEnv: Record<string, string> = {}) {
    try {
      const { stdout } = await exec(process.execPath, [CLI, 'simulate', ...args], { env: { ...process.env, ...env, ...extraEnv }, timeout: 90_000 });
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: `${e.stdout}${e.stderr}` };
    }
  }

  beforeAll(async () => {
    dir = await tempDir();
    const vigil = await startVigilProcess({ VIGIL_DATA_DIR: dir.path, VIGIL_ALERT_SWEEP_CRON: '* * * * * *' });
    server = vigil.child;
    env = { VIGIL_DATA_DIR: dir.path, VIGIL_MQTT_PORT: String(vigil.mqttPort), VIGIL_HTTP_PORT: String(vigil.httpPort), VIGIL_LOG_LEVEL: 'warn', VIGIL_ALERT_SWEEP_CRON: '* * * * * *' };
  });

  afterAll(async () => {
    server?.kill('SIGKILL');
    await dir?.remove();
  });

  it.each(SCENARIOS.map((s) => s.name))('scenario %s passes --verify', async (name) => {
    const result = await simulate(['--scenario', name, '--verify', '--timeout', '30']);
    expect(result.stdout).toMatch(/PASS/);
    expect(result.code).toBe(0);
  });

  it('exits non-zero and says which expectation failed when Vigil did not do it in time', async () => {
    // The missing-data sweep runs every second here; a 0.5 s budget cannot see the 5 s gap close.
    const result = await simulate(['--scenario', 'silent-patient', '--verify', '--timeout', '0.5']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL\s+alert missing\.blood_pressure/);
  });

  it('runs a small mixed fleet for a bounded time and reports what was acknowledged', async () => {
    // With --speed 3000, three seconds of run are two and a half hours of simulated time ending now.
    const result = await simulate(['--patients', '3', '--interval', '0.3', '--duration', '3', '--backfill-days', '1', '--speed', '3000']);
    expect(result.code).toBe(0);
    const done = /done: (\d+) published, (\d+) acknowledged, (\d+) rejected/.exec(result.stdout);
    expect(Number(done?.[2])).toBeGreaterThan(10);
    expect(done?.[1]).toBe(done?.[2]);
    expect(done?.[3]).toBe('0'); // no simulated time in the future or before the oldest backlog accepted
  });

  it('runs a brief load and reports throughput, PUBACK and alert latency, and the gateway memory', async () => {
    const result = await simulate(['--load', '--devices', '40', '--rate', '300', '--duration', '3', '--probes', '5', '--http-url', `http://127.0.0.1:${env.VIGIL_HTTP_PORT}`]);
    expect(result.code).toBe(0);
    const acked = /acknowledged (\d+) \((\d+)\/s/.exec(result.stdout);
    expect(Number(acked?.[1])).toBeGreaterThan(300);
    expect(result.stdout).toMatch(/publish to PUBACK: p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
    expect(result.stdout).toMatch(/alert opened: p50 [\d.]+ ms, p99 [\d.]+ ms \(5 of 5 probes\)/);
    expect(result.stdout).toMatch(/gateway RSS: \d+ MiB/);
    expect(result.stdout).toMatch(/errors 0/);
  });

  it('relays devices through phone hubs that go offline and upload their backlog, losing nothing', async () => {
    const result = await simulate(['--patients', '4', '--condition', 'copd', '--interval', '0.1', '--duration', '4', '--hubs']);
    expect(result.code).toBe(0);
    const done = /done: (\d+) published, (\d+) acknowledged, (\d+) rejected, (\d+) hub backlog uploads/.exec(result.stdout);
    expect(done?.[1]).toBe(done?.[2]);
    expect(Number(done?.[4])).toBeGreaterThan(0);
  });

  it('speaks MQTT over WebSocket too', async () => {
    const result = await simulate(['--scenario', 'fall', '--verify', '--url', `ws://127.0.0.1:${env.VIGIL_HTTP_PORT}/mqtt`]);
    expect(result.stdout).toMatch(/PASS/);
  });

  it('lists the scenarios and explains its options', async () => {
    const list = await simulate(['--list']);
    for (const s of SCENARIOS) expect(list.stdout).toContain(s.name);
    const help = await simulate(['--help']);
    expect(help.stdout).toMatch(/--scenario <name>/);
    expect(help.stdout).toMatch(/--verify/);
  });
});
