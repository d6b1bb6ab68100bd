#!/usr/bin/env -S node --max-semi-space-size=32
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAlerts } from './commands/alerts.js';
import { registerDemo } from './commands/demo.js';
import { registerInspect } from './commands/inspect.js';
import { registerProvisioning } from './commands/provisioning.js';
import { registerRejections } from './commands/rejections.js';
import { registerReports } from './commands/reports.js';
import { registerSimulate } from './commands/simulate.js';
import { registerStart } from './commands/start.js';
import { registerUsers } from './commands/users.js';

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
  .addHelpText(
    'after',
    '\nSettings come from VIGIL_* environment variables (see docs/configuration.md); options override them.\n' +
      'Run "vigil <command> --help" for the options of a command.',
  );

registerStart(program);
registerDemo(program);
registerProvisioning(program);
registerInspect(program);
registerRejections(program);
registerAlerts(program);
registerUsers(program);
registerSimulate(program);
registerReports(program);

await program.parseAsync(process.argv);
