import type { Actor } from '../../state/index.js';
import type { Role } from './user-store.js';

/** Who makes a request: a logged-in user, a user's personal API token, or an integration holding the admin bearer token. */
export interface Principal {
  readonly kind: 'session' | 'token';
  readonly userId: number | null;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly careTeams: readonly string[];
  /** The raw session id (cookie sessions only): the live channel re-checks it while a socket is open. */
  readonly sessionId?: string | undefined;
  /** The session's CSRF token (cookie sessions only), which the page sends back on state changes. */
  readonly csrfToken?: string | undefined;
  /** The personal API token the request carried (kind `token` with a user). */
  readonly tokenId?: number | undefined;
}

/**
 * The name written to the audit log and on alert actions: `user:alice`, `user:alice/token:3` (her API token 3), or
 * `admin` / `admin:<X-Vigil-Actor>`.
 */
export function actorOf(principal: Principal, origin: string): Actor {
  if (principal.tokenId !== undefined) return { name: `user:${principal.username}/token:${principal.tokenId}`, origin };
  return { name: principal.kind === 'session' ? `user:${principal.username}` : principal.username, origin };
}

/** What a principal may see: administrators every patient, clinicians the patients of their care teams. */
export function canSeeTeam(principal: Principal, careTeam: string | null): boolean {
  if (principal.role === 'admin') return true;
  return careTeam !== null && principal.careTeams.includes(careTeam);
}
