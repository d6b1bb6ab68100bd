import type { UserStore } from '../../dashboard/auth/identity.js';
import { PasswordGate } from '../../dashboard/auth/password-gate.js';

/**
 * A password gate whose check, once it has answered, lets `meanwhile` run before the login goes on: another
 * instance or an administrator acting during the tens of ms of a real scrypt check.
 */
export function gateThen(meanwhile: () => Promise<void>, gate = new PasswordGate()): PasswordGate {
  return {
    run: async <T>(work: () => Promise<T>) => {
      const answer = await gate.run(work);
      await meanwhile();
      return answer;
    },
  } as PasswordGate;
}

/**
 * The user store as a login uses it, with `meanwhile` run just after each record of the login (told whether it
 * recorded), before the login goes on to open its session.
 */
export function usersThen(users: UserStore, meanwhile: (recorded: boolean) => Promise<void>): UserStore {
  return {
    passwordHash: (name: string) => users.passwordHash(name),
    recordFailure: (...args: Parameters<UserStore['recordFailure']>) => users.recordFailure(...args),
    recordLogin: async (...args: Parameters<UserStore['recordLogin']>) => {
      const recorded = await users.recordLogin(...args);
      await meanwhile(recorded);
      return recorded;
    },
  } as unknown as UserStore;
}
