import cron from 'node-cron';
import { VigilError } from '../../domain/index.js';
import type { RetentionSweep } from './retention-sweep.js';

/** Runs the retention sweep on its node-cron schedule (VIGIL_RETENTION_CRON); one run at a time. */
export function scheduleRetention(
  expression: string,
  sweep: RetentionSweep,
  log: { info(obj: object, msg: string): void; error(obj: object, msg: string): void },
): { close(): Promise<void> } {
  if (!cron.validate(expression)) throw new VigilError('VIGIL_ERR_CONFIG', `VIGIL_RETENTION_CRON: "${expression}" is not a cron expression`);
  let running: Promise<void> | undefined;
  const task = cron.schedule(
    expression,
    () => {
      running = sweep.run().then(
        (removed) => log.info({ removed }, 'retention run done'),
        (err: unknown) => log.error({ err }, 'retention run failed; the next run tries again'),
      );
      return running;
    },
    { name: 'vigil-retention', noOverlap: true },
  );
  return {
    async close() {
      sweep.stop();
      await task.stop();
      await task.destroy();
      await running;
    },
  };
}
