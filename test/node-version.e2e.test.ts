import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from './support/vigil-process.js';

const exec = promisify(execFile);

/** Runs the CLI as if Node.js reported `version` (process.versions overridden before the entry loads). */
async function vigilOn(version: string) {
  const preload = `data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"${version}"}})`;
  try {
    const { stdout, stderr } = await exec(process.execPath, ['--import', preload, CLI, '--version'], { timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the CLI on an unsupported Node.js', () => {
  it('stops with one coded line naming the versions to use, not a stack trace', async () => {
    const old = await vigilOn('20.20.2');
    expect(old.code).toBe(1);
    expect(old.stderr.trim()).toBe('vigil: VIGIL_ERR_CONFIG Node.js 20.20.2 is not supported: use Node.js 22 or 24 (LTS), see the README');
    expect(old.stdout).toBe('');
  });

  it('runs on the supported lines', async () => {
    const current = await vigilOn('22.12.0');
    expect(current.code).toBe(0);
    expect(current.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
