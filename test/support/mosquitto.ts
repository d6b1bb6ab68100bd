import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { connectAsync } from 'mqtt';
import { freePort } from './ports.js';
import { tempDir, waitFor } from './temp.js';

const MOSQUITTO = '/usr/sbin/mosquitto';
/** Debian's mosquitto 2.0 package ships the dynamic-security plugin here. */
export const DYNSEC_PLUGIN = '/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so';

export interface MosquittoOptions {
  /**
   * Load the dynamic-security plugin with an administrator made by `mosquitto_ctrl dynsec init` (as
   * docs/operations.md tells users to): no anonymous logins, every other client and role made at run time.
   */
  readonly dynsec?: { readonly adminPassword: string } | undefined;
}

export interface MosquittoInstance {
  readonly url: string;
  readonly port: number;
  /** The dynamic-security administrator, when the plugin is loaded. */
  readonly admin: { readonly username: string; readonly password: string } | undefined;
  /** Stops the broker and deletes its temp dir. */
  stop(): Promise<void>;
}

/**
 * Debian's Mosquitto 2.0 on a free loopback port, configured for worker mode: no queue limit (with the default
 * it silently drops QoS 1 messages to a subscriber that falls behind, field-notes.md), and no in-flight limit
 * either, the worst case for a worker's memory (test/worker-inflight.e2e.test.ts); docs/operations.md advises
 * `max_inflight_messages` equal to VIGIL_WORKER_MAX_INFLIGHT. Anonymous, unless the dynamic-security plugin is
 * asked for.
 */
export async function startMosquitto(options: MosquittoOptions = {}): Promise<MosquittoInstance> {
  if (!existsSync(MOSQUITTO)) throw new Error(`${MOSQUITTO} not found: install Debian's mosquitto package (see .ci/run)`);
  const dir = await tempDir('vigil-mosquitto-');
  const port = await freePort();
  const config = join(dir.path, 'mosquitto.conf');
  const admin = options.dynsec ? { username: 'admin', password: options.dynsec.adminPassword } : undefined;
  let auth = 'allow_anonymous true\n';
  if (admin) {
    const dynsecFile = join(dir.path, 'dynamic-security.json');
    await promisify(execFile)('mosquitto_ctrl', ['dynsec', 'init', dynsecFile, admin.username, admin.password], { timeout: 15_000 });
    // Run as root, Mosquitto switches to the user `mosquitto`, who may not read (or save) the file in this
    // private temp dir: it stays the user running the tests.
    auth = `user ${userInfo().username}\nallow_anonymous false\nplugin ${DYNSEC_PLUGIN}\nplugin_opt_config_file ${dynsecFile}\n`;
  }
  await writeFile(config, `listener ${port} 127.0.0.1\n${auth}max_queued_messages 0\nmax_inflight_messages 0\npersistence false\n`);
  const child: ChildProcess = spawn(MOSQUITTO, ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `mqtt://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`mosquitto exited: ${stderr}`);
      const probe = await connectAsync(url, { reconnectPeriod: 0, connectTimeout: 1_000, ...admin });
      await probe.endAsync();
      return true;
    },
    { timeoutMs: 15_000, what: 'mosquitto to accept connections' },
  );
  return {
    url,
    port,
    admin,
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
