import { randomUUID } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { VigilError } from '../../domain/index.js';
import { redact } from '../worker/broker-connection.js';

/** Mosquitto's dynamic-security API: JSON commands published here, answers on `${TOPIC}/response`. */
const TOPIC = '$CONTROL/dynamic-security/v1';
/** Commands per message: a reconcile of 100,000 devices is sent in pieces the broker answers one by one. */
const BATCH = 200;

export interface DynsecCommand {
  readonly command: string;
  readonly [field: string]: unknown;
}

export interface DynsecResponse {
  readonly command: string;
  /** Set when the broker refused the command ("Client not found", "Role already exists", ...). */
  readonly error?: string;
  readonly data?: unknown;
}

/** What a provisioner needs of the administrator's connection: commands and their answers. */
export type DynsecCommands = Pick<DynsecControl, 'run' | 'one'>;

/** How Vigil logs in to the broker as the dynamic-security administrator (VIGIL_BROKER_DYNSEC_*). */
export interface DynsecLogin {
  readonly url: string;
  readonly username: string;
  readonly password: string;
  readonly tls?: { readonly ca?: Buffer | undefined; readonly cert?: Buffer | undefined; readonly key?: Buffer | undefined } | undefined;
  readonly timeoutMs: number;
}

/**
 * A connection as the dynamic-security administrator that sends commands and waits for their answers. One
 * request is in flight at a time, so an answer belongs to the request before it; each request also carries a
 * correlation id that the answer must echo, so a stray answer (another administrator's) is never taken for ours.
 */
export class DynsecControl {
  readonly #client: MqttClient;
  readonly #timeoutMs: number;
  #queue: Promise<unknown> = Promise.resolve();
  #waiting: { readonly id: string; readonly resolve: (responses: DynsecResponse[]) => void } | undefined;

  private constructor(client: MqttClient, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    // mqtt.js reconnects by itself; while it cannot, requests time out with VIGIL_ERR_BROKER, which says so.
    // Without a listener an 'error' event (a refused reconnect) would end the process.
    client.on('error', () => undefined);
    client.on('message', (_topic, payload) => {
      const waiting = this.#waiting;
      if (!waiting) return;
      try {
        const body = JSON.parse(payload.toString()) as { responses?: (DynsecResponse & { correlationData?: string })[] };
        if (body.responses?.[0]?.correlationData !== waiting.id) return;
        this.#waiting = undefined;
        waiting.resolve(body.responses);
      } catch {
        // Not an answer of this API: ignored, the request times out if its answer never comes.
      }
    });
  }

  static async connect(login: DynsecLogin): Promise<DynsecControl> {
    const client = connect(login.url, {
      clientId: `vigil-dynsec-${randomUUID().slice(0, 8)}`,
      username: login.username,
      password: login.password,
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: login.timeoutMs,
      ca: login.tls?.ca,
      cert: login.tls?.cert,
      key: login.tls?.key,
      rejectUnauthorized: true,
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new VigilError('VIGIL_ERR_BROKER', `no connection to ${redact(login.url)} within ${login.timeoutMs} ms as the dynamic-security administrator`)), login.timeoutMs);
        client.once('connect', () => {
          clearTimeout(timer);
          resolve();
        });
        client.once('error', (err) => {
          clearTimeout(timer);
          reject(new VigilError('VIGIL_ERR_BROKER', `the broker refused the dynamic-security administrator ${login.username}: ${err.message}`, { cause: err }));
        });
      });
      // A new connection (clean session) subscribes again: mqtt.js resubscribes by default.
      const refused = (why: string) =>
        new VigilError('VIGIL_ERR_BROKER', `${login.username} may not read ${TOPIC}/response (${why}): is the dynamic-security plugin loaded, and is this its administrator?`);
      const granted = await client.subscribeAsync(`${TOPIC}/response`, { qos: 1 }).catch((err: Error) => {
        throw refused(err.message);
      });
      if (granted[0] && granted[0].qos > 2) throw refused(`SUBACK ${granted[0].qos}`);
    } catch (err) {
      await client.endAsync(true);
      throw err;
    }
    return new DynsecControl(client, login.timeoutMs);
  }

  /** Runs the commands in order and returns one response per command (in pieces of BATCH per message). */
  async run(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const responses: DynsecResponse[] = [];
    for (let i = 0; i < commands.length; i += BATCH) responses.push(...(await this.#request(commands.slice(i, i + BATCH))));
    return responses;
  }

  /** Runs one command and returns its data; a refusal is thrown, unless its error text is one `tolerate` allows. */
  async one(command: DynsecCommand, tolerate: readonly string[] = []): Promise<DynsecResponse> {
    const [response] = await this.run([command]);
    if (!response) throw new VigilError('VIGIL_ERR_BROKER', `the broker sent no answer to ${command.command}`);
    if (response.error && !tolerate.includes(response.error)) throw new VigilError('VIGIL_ERR_BROKER', `the broker refused ${command.command}: ${response.error}`);
    return response;
  }

  #request(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const result = this.#queue.then(() => this.#send(commands));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  #send(commands: readonly DynsecCommand[]): Promise<DynsecResponse[]> {
    const id = randomUUID();
    return new Promise<DynsecResponse[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting = undefined;
        reject(new VigilError('VIGIL_ERR_BROKER', `the broker did not answer ${commands[0]?.command ?? 'a command'} within ${this.#timeoutMs} ms (is the dynamic-security plugin loaded?)`));
      }, this.#timeoutMs);
      this.#waiting = {
        id,
        resolve: (responses) => {
          clearTimeout(timer);
          resolve(responses);
        },
      };
      // Every command carries the id; the broker echoes each one's in its response.
      const payload = JSON.stringify({ commands: commands.map((c) => ({ ...c, correlationData: id })) });
      this.#client.publish(TOPIC, payload, { qos: 1 }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#waiting = undefined;
        reject(new VigilError('VIGIL_ERR_BROKER', `could not send ${commands[0]?.command ?? 'a command'} to the broker: ${err.message}`, { cause: err }));
      });
    });
  }

  close(): Promise<void> {
    return this.#client.endAsync(true);
  }
}
