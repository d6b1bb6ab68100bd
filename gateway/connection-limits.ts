import { readFileSync } from 'node:fs';

export type AdmitVerdict = 'ok' | 'max_connections' | 'max_connections_per_address';

/**
 * Open MQTT connections, counted globally and per remote address from the moment they are accepted (before
 * CONNECT), like Mosquitto's `max_connections`: every open socket holds a file descriptor, and a process out of
 * descriptors can accept neither devices nor `/healthz`. Authenticated or not, a connection counts.
 */
export class ConnectionLimits {
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #byAddress = new Map<string, number>();
  #open = 0;

  constructor(max: number, maxPerAddress: number) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
  }

  get open(): number {
    return this.#open;
  }

  /** Admits a connection from `address` or says which limit refuses it; call the returned release once. */
  admit(address: string): { verdict: AdmitVerdict; release: () => void } {
    const fromAddress = this.#byAddress.get(address) ?? 0;
    if (this.#open >= this.#max) return { verdict: 'max_connections', release: () => undefined };
    if (fromAddress >= this.#maxPerAddress) return { verdict: 'max_connections_per_address', release: () => undefined };
    this.#open++;
    this.#byAddress.set(address, fromAddress + 1);
    let released = false;
    return {
      verdict: 'ok',
      release: () => {
        if (released) return;
        released = true;
        this.#open--;
        const left = (this.#byAddress.get(address) ?? 1) - 1;
        if (left > 0) this.#byAddress.set(address, left);
        else this.#byAddress.delete(address);
      },
    };
  }
}

/** The soft limit of open files of this process (Linux), to warn when the connection cap cannot be reached. */
export function openFilesLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}
