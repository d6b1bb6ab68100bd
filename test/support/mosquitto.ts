import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { freePort } from './ports.js';
import { tempDir, waitFor } from './temp.js';

const MOSQUITTO = '/usr/sbin/mosquitto';

export interface MosquittoInstance {
  readonly url: string;
  readonly port: number;
  /** Stops the broker and deletes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Debian's Mosquitto 2.0 on a free loopback port, configured as docs/operations.md tells users to for worker
 * mode: no queue or in-flight limits (with the defaults it silently drops QoS 1 messages to a subscriber that
 * falls behind, field-notes.md). Anonymous: device authentication at the broker is not what these tests check.
 */
export async function startMosquitto(): Promise<MosquittoInstance> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} not found: install Debian's mosquitto package (see .ci/run)`);
  const dir = await tempDir('vigil-mosquitto-');
  const port = await freePort();
  const config = join(dir.path, 'mosquitto.conf');
  await writeFile(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`);
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `mqtt://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      const probe = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1_000 });
      await probe.endAsync();
      return true;
    },
    { timeoutMs: 15_000, what: 'mosquitto to accept connections' },
  );
  return {
    url,
    port,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await dir.remove();
    },
  };
}
