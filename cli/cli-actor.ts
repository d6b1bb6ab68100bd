import { userInfo } from 'node:os';
import type { Actor } from '../state/index.js';

/**
 * Who acts from the command line, for the audit log: the operating-system user (the CLI has no login; whoever
 * can run it can read the data dir), with `cli` as the origin, as a browser request's origin is its address.
 */
export function cliActor(): Actor & { readonly name: string; readonly origin: string } {
  return { name: `cli:${unixUser()}`, origin: 'cli' };
}

/**
 * The effective user from the password database, not $USER: `docker compose exec`, systemd units and cron
 * leave $USER unset. A uid with no passwd entry (a container run with --user 1234) makes userInfo() throw;
 * then $USER or $LOGNAME if set, else the uid itself, which still names who acted.
 */
function unixUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.LOGNAME ?? (process.getuid ? `uid-${process.getuid()}` : 'unknown');
  }
}
