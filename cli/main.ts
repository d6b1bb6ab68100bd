#!/usr/bin/env node
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { registerAlerts } from './commands/alerts.js';
import { registerBackup } from './commands/backup.js';
import { registerPatientData } from './commands/patient-data.js';
import { registerDemo } from './commands/demo.js';
import { registerInspect } from './commands/inspect.js';
import { registerProvisioning } from './commands/provisioning.js';
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
  .addHelpText(
    'after',
    '\nSettings come from VIGIL_* environment variables (see docs/configuration.md); options override them.\n' +
      'Run "vigil <command> --help" for the options of a command.',
  );

registerStart(program);
registerDemo(program);
registerProvisioning(program);
registerInspect(program);
registerAlerts(program);
registerUsers(program);
registerSimulate(program);
registerBackup(program, version);
registerPatientData(program, version);

await program.parseAsync(process.argv);
