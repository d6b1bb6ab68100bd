import type { Actor } from '../state/index.js';

/**
 * Who acts from the command line, for the audit log: the operating-system user (the CLI has no login; whoever
 * can run it can read the data dir), with `cli` as the origin, as a browser request's origin is its address.
 */
export function cliActor(): Actor & { readonly name: string; readonly origin: string } {
  return { name: `cli:${process.env.USER ?? 'unknown'}`, origin: 'cli' };
}
