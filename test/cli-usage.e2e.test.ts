import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openState } from '../app/state.js';
import { tempDir } from './support/temp.js';
import { CLI, startVigilProcess, type VigilProcess } from './support/vigil-process.js';

const exec = promisify(execFile);

/** A newcomer's shell: no VIGIL_* variable, unless the test gives one. */
const bareEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VIGIL_')));

async function vigil(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}) {
  try {
    const { stdout, stderr } = await exec(process.execPath, [CLI, ...args], { env: { ...bareEnv, ...options.env }, cwd: options.cwd, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A stack trace line, as Node prints it: what a user must never see for an expected failure. */
const STACK = /^\s+at .+\(.+:\d+:\d+\)$|^\s+at .+:\d+:\d+$/m;

/** Issue 14, items 1 and 6: arguments validated with what is allowed, exit codes 0/1/2, an example in every --help, no stack traces. */
describe('vigil command line: usage and failures', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let server: VigilProcess;
  let child: ChildProcess;
  let env: Record<string, string>;

  beforeAll(async () => {
    expect(existsSync(CLI), 'run "npm run build" first').toBe(true);
    dir = await tempDir();
    server = await startVigilProcess({ VIGIL_DATA_DIR: dir.path });
    child = server.child;
    env = { VIGIL_DATA_DIR: dir.path };
  });

  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await dir?.remove();
  });

  it('gives every command and subcommand an example in its --help, and documents the exit codes', async () => {
    // One process walks the whole command tree (a process per command takes minutes on a busy machine).
    const script = join(dir.path, 'walk-help.mjs');
    writeFileSync(
      script,
      `process.argv = [process.argv[0], 'vigil', '--version'];
const { program } = await import(${JSON.stringify(pathToFileURL(CLI).href)});
const out = [];
const walk = (cmd, path) => {
  let text = '';
  cmd.configureOutput({ writeOut: (s) => { text += s; } });
  cmd.outputHelp();
  out.push({ path: path.join(' ') || '(vigil)', text });
  for (const sub of cmd.commands) walk(sub, [...path, sub.name()]);
};
walk(program, []);
process.stdout.write('\\nHELP ' + JSON.stringify(out) + '\\n');
`,
    );
    const { stdout } = await exec(process.execPath, [script], { env: bareEnv, timeout: 90_000 });
    const helps = JSON.parse(/^HELP (.*)$/m.exec(stdout)![1]!) as { path: string; text: string }[];
    const seen = helps.map((h) => h.path);
    for (const { path, text } of helps) expect(text, `vigil ${path} --help`).toMatch(/\nExamples?:\n {2}\S*vigil /);
    // The walk reached the nested commands (a guard against a help format that hides them).
    expect(seen).toEqual(expect.arrayContaining(['(vigil)', 'alerts ack', 'devices add', 'users set-password', 'dead-letters replay', 'rules preset', 'simulate']));
    expect((await vigil(['--help'])).stdout).toMatch(/Exit codes: 0 done, 1 failed .*, 2 wrong usage/);
  }, 300_000);

  it('refuses bad arguments with what is allowed and exit code 2, before touching any data', async () => {
    const cases: [string[], RegExp][] = [
      [['alerts', 'ack', 'abc', '--by', 'Dr Grey'], /'abc' is invalid for argument 'id'. Allowed: an alert number/],
      [['alerts', 'show', '-3'], /Allowed: an alert number|unknown option '-3'/],
      [['alerts', 'list', '--status', 'bogus'], /argument 'bogus' is invalid. Allowed: open, acknowledged, resolved, live/],
      [['readings', '--patient', 'p1', '--type', 'bp'], /Allowed: blood_pressure, /],
      [['readings', '--patient', 'p1', '--type', 'weight', '--since', 'yesterday'], /Allowed: a duration like 90s, 15m, 24h or 7d/],
      [['readings', '--patient', 'p1', '--type', 'weight', '--limit', '0'], /Allowed: a whole number from 1/],
      [['patients', 'add', '--name', 'X', '--programme', 'astrology'], /Allowed: hypertension, /],
      [['patients', 'add', '--name', 'X', '--id', 'a/b'], /Allowed: 1-64 letters, digits/],
      [['devices', 'add', '--patient', 'p#1'], /Allowed: 1-64 letters, digits/],
      [['users', 'add', 'zoe', '--role', 'king'], /Allowed: admin, clinician/],
      [['alerts', 'snooze', 'p1', 'bp.crisis', '--for', 'ever', '--by', 'Dr Grey', '--reason', 'x'], /Allowed: a duration/],
      [['alerts', 'ack', '12', '--by', 'Dr <Grey>'], /Allowed: 1-64 letters, digits, spaces/],
      [['rules', 'set', 'p1', 'bp.crisis', 'not json', '--by', 'Dr Grey', '--reason', 'x'], /Allowed: a JSON object/],
      [['rules', 'preset', 'p1', 'no.such.preset', '--by', 'Dr Grey'], /Allowed: spo2\.copd_target/],
      [['simulate', '--scenario', 'alien-invasion'], /Allowed: hypertensive-crisis, /],
      [['simulate', '--verify'], /--verify checks a scenario: give --scenario/],
      [['dead-letters', 'replay', 'x'], /Allowed: dead letter ids/],
      [['alerts', 'replay', '--by', 'Dr Grey'], /give the seq of one parked delivery, or --all/],
      [['no-such-command'], /unknown command 'no-such-command'/],
    ];
    for (let i = 0; i < cases.length; i += 4) {
      await Promise.all(
        cases.slice(i, i + 4).map(async ([args, message]) => {
          const r = await vigil(args, { env });
          expect(r.code, args.join(' ')).toBe(2);
          expect(r.stderr, args.join(' ')).toMatch(message);
          expect(r.stderr, args.join(' ')).not.toMatch(STACK);
        }),
      );
    }
  }, 180_000);

  it('says a patient, alert or device does not exist instead of printing an empty table (exit 1)', async () => {
    for (const args of [
      ['readings', '--patient', 'nobody', '--type', 'blood_pressure'],
      ['alerts', 'list', '--patient', 'nobody'],
      ['rules', 'list', '--patient', 'nobody'],
      ['rejections', '--device', 'no-device'],
      ['alerts', 'show', '999999'],
      ['alerts', 'ack', '999999', '--by', 'Dr Grey'],
    ]) {
      const r = await vigil(args, { env });
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr, args.join(' ')).toMatch(/(patient nobody|device no-device|alert 999999) does not exist/);
      expect(r.stdout, args.join(' ')).not.toContain('(none)');
    }
  }, 120_000);

  it('explains a missing data dir, a corrupt or locked database, an unreachable gateway and a demo in a real data dir, without a stack trace', async () => {
    const scratch = await tempDir();
    try {
      const missing = await vigil(['patients', 'list'], { cwd: scratch.path });
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/using data dir \.\/data \(the default: no Vigil is running from this directory\)/);
      expect(missing.stderr).toMatch(/no data dir at .*data: start Vigil once/);
      expect(existsSync(join(scratch.path, 'data')), 'a missing data dir is not created').toBe(false);

      mkdirSync(join(scratch.path, 'bad'));
      writeFileSync(join(scratch.path, 'bad', 'vigil.db'), 'this is not a database, just text that is long enough for sqlite to look at it '.repeat(20));
      const corrupt = await vigil(['devices', 'list', '--data-dir', join(scratch.path, 'bad')]);
      expect(corrupt.code).toBe(1);
      expect(corrupt.stderr).toMatch(/vigil\.db cannot be used \(file is not a database\).*\[VIGIL_ERR_DATA_CORRUPT\]/);

      const unreachable = await vigil(['simulate', '--scenario', 'fall', '--verify', '--url', 'mqtt://127.0.0.1:1'], { env });
      expect(unreachable.code).toBe(1);
      expect(unreachable.stderr).toMatch(/127\.0\.0\.1:1: connection refused/);
      // A state database another process holds locked for longer than the busy timeout (5 s).
      const locked = openState(join(scratch.path, 'locked'));
      locked.db.exec('BEGIN EXCLUSIVE');
      const busy = await vigil(['patients', 'add', '--name', 'Ada Example', '--data-dir', join(scratch.path, 'locked')]).finally(() => {
        locked.db.exec('ROLLBACK');
        locked.db.close();
      });
      expect(busy.code).toBe(1);
      expect(busy.stderr).toMatch(/the state database is locked by another process .*try again \(SQLITE_BUSY\)/);

      // The demo never adds its patients and printed-password accounts to a real installation's data dir.
      const demoInProduction = await vigil(['demo', '--data-dir', dir.path, '--mqtt-port', '0', '--http-port', '0']);
      expect(demoInProduction.code).toBe(1);
      expect(demoInProduction.stderr).toMatch(/holds a Vigil that is not a demo/);
      for (const r of [missing, corrupt, busy, unreachable, demoInProduction]) expect(r.stderr).not.toMatch(STACK);
    } finally {
      await scratch.remove();
    }
  }, 120_000);

  it('runs the rules set and snooze examples of --help, refuses to unsnooze a rule that does not exist, and says when an override does not apply', async () => {
    const add = async (programme: string) => (JSON.parse((await vigil(['patients', 'add', '--name', 'Ex Ample', ...(programme ? ['--programme', programme] : []), '--json'], { env })).stdout) as { id: string }).id;
    const [copd, hypertension, none] = [await add('copd'), await add('hypertension'), await add('')];
    // Each example's own arguments, on a patient of the programme it is written for (the demo's, say).
    const example = async (command: string[]) => {
      const help = (await vigil([...command, '--help'])).stdout;
      const line = new RegExp(`^ {2}vigil ${command.join(' ')} p-1a2b3c4d5e6f (.+)$`, 'm').exec(help)?.[1];
      expect(line, help).toBeDefined();
      return [...line!.matchAll(/'([^']*)'|"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
    };
    const set = await vigil(['rules', 'set', copd, ...(await example(['rules', 'set']))], { env });
    expect(set.code, set.stderr).toBe(0);
    const snooze = await vigil(['alerts', 'snooze', hypertension, ...(await example(['alerts', 'snooze']))], { env });
    expect(snooze.code, snooze.stderr).toBe(0);
    const unsnooze = await vigil(['alerts', 'unsnooze', hypertension, ...(await example(['alerts', 'unsnooze']))], { env });
    expect(unsnooze.code, unsnooze.stderr).toBe(0);

    const typo = await vigil(['alerts', 'unsnooze', hypertension, 'bp.average_7d', '--by', 'Dr Jones'], { env });
    expect(typo.code).toBe(1);
    expect(typo.stderr).toMatch(/rule bp\.average_7d does not exist/);
    expect(typo.stdout).not.toMatch(/no longer snoozed/);

    const stored = await vigil(['rules', 'set', none, 'missing.weight', '{"maxGapHours":72}', '--by', 'Dr Jones', '--reason', 'weighs every other day'], { env });
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stdout).toMatch(/stored, but the rule does not apply under the patient's programmes \(none\)/);
    expect(stored.stdout).not.toMatch(/the rule now applies as/);
  }, 180_000);

  it('simulate --verify with a device the gateway refuses fails with a clear message (exit 1), not a stack trace', async () => {
    // Provisioned in another data dir than the running Vigil's, as "./data beside the demo" used to be.
    const other = await tempDir();
    try {
      const r = await vigil(['simulate', '--scenario', 'fall', '--verify', '--data-dir', other.path, '--url', `mqtt://127.0.0.1:${server.mqttPort}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/the gateway at mqtt:\/\/127\.0\.0\.1:\d+ refused device sim-fall-[\w-]+ \(CONNACK 4\): it was provisioned in .*, which is not the data dir of the Vigil listening there/);
      expect(r.stderr).not.toMatch(STACK);
    } finally {
      await other.remove();
    }
  }, 120_000);

  it('shows an alert in a readable form, and as JSON with --json', async () => {
    const run = await vigil(['simulate', '--scenario', 'hypertensive-crisis', '--verify', '--url', `mqtt://127.0.0.1:${server.mqttPort}`], { env });
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const list = JSON.parse((await vigil(['alerts', 'list', '--json'], { env })).stdout) as { id: number; ruleId: string }[];
    const crisis = list.find((a) => a.ruleId === 'bp.crisis')!;
    const readable = await vigil(['alerts', 'show', String(crisis.id)], { env });
    expect(readable.code).toBe(0);
    expect(readable.stdout).toMatch(new RegExp(`^alert ${crisis.id}: CRITICAL `));
    expect(readable.stdout).toMatch(/\n {2}rule +bp\.crisis/);
    expect(readable.stdout).toMatch(/\nhistory \(\d+\):\n {2}\d{4}-\d\d-\d\dT.*opened/);
    expect(() => JSON.parse(readable.stdout)).toThrow();
    const json = JSON.parse((await vigil(['alerts', 'show', String(crisis.id), '--json'], { env })).stdout) as { alert: { id: number }; events: unknown[] };
    expect(json.alert.id).toBe(crisis.id);
    expect(json.events.length).toBeGreaterThan(0);
  }, 120_000);
});
