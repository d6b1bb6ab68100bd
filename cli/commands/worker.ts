import type { Command } from 'commander';
import { createLogger } from '../../app/logger.js';
import { VigilError } from '../../domain/index.js';
import { liveInstancePid, outboxHoldsReadings } from '../../lifecycle/index.js';
import { ARG, examples } from '../args.js';
import { CommandFailed } from '../failure.js';
import { action, configFrom } from '../run.js';

interface RetireOptions {
  dataDir?: string;
  quietSeconds: number;
  timeoutSeconds: number;
  drainSeconds: number;
}

/** `vigil worker retire`: scaling a group of workers down without losing what the broker queued for one. */
export function registerWorker(program: Command): void {
  const lines = [
    "vigil worker retire --data-dir /var/lib/vigil/worker-3      # with the worker's own VIGIL_* settings, after stopping it",
    'VIGIL_BROKER_URL=mqtts://broker:8883 VIGIL_BROKER_CLIENT_ID=vigil-3 vigil worker retire --quiet-seconds 10',
  ];
  const worker = examples(program.command('worker').description('manage a worker of a broker share group (worker mode, VIGIL_BROKER_URL)'), ...lines);
  examples(worker.command('retire'), ...lines)
    .description(
      "take a stopped worker out of its share group for good: start it once with its own settings, take what the broker kept for its session, leave the group, end the session, and drain its outbox to the reading store (then its data dir may go). Run it with the worker's VIGIL_* settings, after stopping the worker",
    )
    .option('--data-dir <dir>', "the worker's data directory (VIGIL_DATA_DIR)")
    .option('--quiet-seconds <s>', 'how long without a message means the backlog is in', ARG.seconds, 5)
    .option('--timeout-seconds <s>', 'give up (keeping the session) if messages still come after this long', ARG.seconds, 600)
    .option('--drain-seconds <s>', 'how long to wait for the outbox to reach the reading store', ARG.seconds, 60)
    .action(
      action(async (opts: RetireOptions) => {
        // No listener is needed: devices are the broker's, and the dashboard is the other workers'.
        const config = configFrom({ VIGIL_DATA_DIR: opts.dataDir, VIGIL_HTTP_PORT: 0, VIGIL_BIND_HOST: '127.0.0.1' });
        if (!config.broker) throw new VigilError('VIGIL_ERR_CONFIG', 'VIGIL_BROKER_URL is not set: only a worker of a broker share group can be retired');
        const pid = liveInstancePid(config.dataDir);
        if (pid !== undefined) throw new CommandFailed(`a Vigil (pid ${pid}) still serves ${config.dataDir}: stop the worker first, then retire it`);
        // Loaded here, not with the command line (cli/commands/start.ts says why).
        const { startVigil } = await import('../../app/vigil.js');
        const vigil = await startVigil(config, createLogger(config.logLevel));
        let retired: { messages: number };
        try {
          retired = await vigil.retireFromBroker({ quietMs: opts.quietSeconds * 1000, timeoutMs: opts.timeoutSeconds * 1000 });
        } finally {
          await vigil.close(opts.drainSeconds * 1000);
        }
        process.stdout.write(`worker ${config.broker.clientId} retired from share group ${config.broker.shareGroup}: ${retired.messages} messages taken from its session, which the broker has ended\n`);
        if (await outboxHoldsReadings(config.dataDir)) {
          throw new CommandFailed(
            `acknowledged readings are still in the outbox of ${config.dataDir} (is the reading store reachable?): keep the data dir, and run the retirement again once the store answers`,
          );
        }
        process.stdout.write(`its outbox is empty: ${config.dataDir} may be removed\n`);
      }),
    );
}
