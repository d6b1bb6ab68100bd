import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RUNTIME_FLAGS } from './runtime-flags.js';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('the runtime flags every launcher uses', () => {
  const flags = RUNTIME_FLAGS.join(' ');

  it('are on the vigil command line (its first line)', () => {
    expect(read('cli/main.ts').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
  });

  it('are in npm start and npm run demo', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.start).toContain(`node ${flags} dist/cli/main.js start`);
    expect(scripts.demo).toContain(`node ${flags} dist/cli/main.js demo`);
  });

  it('are all known to the Node.js running the tests (a misspelt V8 flag is only a warning on stderr)', () => {
    const run = spawnSync(process.execPath, [...RUNTIME_FLAGS, '-e', 'process.stdout.write("ran")'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.stdout).toBe('ran');
    const misspelt = spawnSync(process.execPath, ['--no-allocation-site-pretenurring', '-e', '0'], { encoding: 'utf8' });
    expect(misspelt.stderr).not.toBe('');
  });

  it("are in the container's entry point", () => {
    expect(read('Dockerfile')).toContain(`ENTRYPOINT ["node", ${RUNTIME_FLAGS.map((f) => `"${f}"`).join(', ')}, "dist/cli/main.js"]`);
  });
});
