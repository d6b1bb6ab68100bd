#!/usr/bin/env -S node --max-semi-space-size=32 --no-allocation-site-pretenuring
// First: an unsupported Node.js stops here with one clear line.
import './node-version.js';
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAlerts } from './commands/alerts.js';
import { registerBackup } from './commands/backup.js';
import { registerPatientData } from './commands/patient-data.js';
import { registerDemo } from './commands/demo.js';
import { registerInspect } from './commands/inspect.js';
import { registerPlans } from './commands/plans.js';
import { registerProvisioning } from './commands/provisioning.js';
import { registerRejections } from './commands/rejections.js';
import { registerReports } from './commands/reports.js';
import { registerSimulate } from './commands/simulate.js';
import { registerStart } from './commands/start.js';
import { registerUsers } from './commands/users.js';
import { registerApiTokens } from './commands/api-tokens.js';
import { registerWorker } from './commands/worker.js';
import { registerRegistry } from './commands/registry.js';
import { EXIT } from './failure.js';

// `vigil readings | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('vigil')
  .description('Vigil: remote patient monitoring gateway (MQTT ingest, durable storage, clinical alerts)')
  .version(version)
  .showHelpAfterError()
  // Options belong to the command they follow (`vigil rejections --code X` lists, `... replay --code X` replays).
  .enablePositionalOptions()
  // Usage errors (an unknown option, a bad argument) exit with 2, set apart from failures (1): see EXIT.
  .exitOverride()
  .addHelpText(
    'after',
    '\nSettings come from VIGIL_* environment variables (see docs/configuration.md); options override them.\n' +
      'Commands that work on a data dir use --data-dir, else $VIGIL_DATA_DIR, else that of the Vigil running from\n' +
      'the current directory (npm run demo: ./demo-data), else ./data; stderr says which one.\n' +
      'Exit codes: 0 done, 1 failed (stderr says why), 2 wrong usage (a bad option, argument or VIGIL_* setting).\n' +
      'Run "vigil <command> --help" for the options of a command, with examples.\n\n' +
      'Example:\n  vigil patients add --name "Ada Example" --team community --json',
  );

registerStart(program);
registerDemo(program);
registerProvisioning(program);
registerInspect(program);
registerRejections(program);
registerAlerts(program);
registerUsers(program);
registerApiTokens(program);
registerSimulate(program);
registerBackup(program, version);
registerPatientData(program, version);
registerReports(program);
registerPlans(program);
registerWorker(program);
registerRegistry(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  // Commander has printed its message (and the help); an error that is not commander's is a bug: its stack helps.
  if (!(err instanceof CommanderError)) throw err;
  process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
}

/** The command tree, for the test that checks every command's help has an example. */
export { program };
