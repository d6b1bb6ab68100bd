import { readFileSync } from 'node:fs';

export type AdmitVerdict = 'ok' | 'max_connections' | 'max_connections_per_address';

/**
 * Open MQTT connections, counted from the moment they are accepted (before CONNECT), like Mosquitto's
 * `max_connections`: every open socket holds a file descriptor, and a process out of descriptors accepts
 * neither devices nor `/healthz`. The global cap counts every connection; the per-address cap counts those
 * that have not authenticated yet, so that one peer cannot hold many sockets without credentials, while a
 * fleet behind one NAT address (a care home, a mobile carrier) is bounded only by the global cap once its
 * devices are in.
 */
export class ConnectionLimits {
  readonly #max: number;
  readonly #maxPerAddress: number;
  readonly #pendingByAddress = new Map<string, number>();
  #open = 0;

  constructor(max: number, maxPerAddress: number) {
    this.#max = max;
    this.#maxPerAddress = maxPerAddress;
  }

  get open(): number {
    return this.#open;
  }

  #leavePending(address: string): void {
    const left = (this.#pendingByAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#pendingByAddress.set(address, left);
    else this.#pendingByAddress.delete(address);
  }

  /**
   * Admits a connection from `address` or says which limit refuses it. Call `authenticated` when it has logged
   * in (it stops counting against its address) and `release` when it closes; both may be called more than once.
   */
  admit(address: string): { verdict: AdmitVerdict; authenticated: () => void; release: () => void } {
    const pending = this.#pendingByAddress.get(address) ?? 0;
    const none = { authenticated: () => undefined, release: () => undefined };
    if (this.#open >= this.#max) return { verdict: 'max_connections', ...none };
    if (pending >= this.#maxPerAddress) return { verdict: 'max_connections_per_address', ...none };
    this.#open++;
    this.#pendingByAddress.set(address, pending + 1);
    let isPending = true;
    let released = false;
    const authenticated = () => {
      if (!isPending) return;
      isPending = false;
      this.#leavePending(address);
    };
    return {
      verdict: 'ok',
      authenticated,
      release: () => {
        if (released) return;
        released = true;
        authenticated();
        this.#open--;
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
