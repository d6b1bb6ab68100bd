import { afterEach } from 'vitest';
import { tempDir } from './temp.js';

/**
 * What a test makes as it goes and must remove after it (an afterEach of the calling file or describe), last made
 * first: `dir()` makes a temp dir; `later(remove)` adds anything else (a mounted file system).
 */
export function cleanedAfterEachTest(): { dir: () => Promise<string>; later: (remove: () => Promise<void>) => void } {
  const removals: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const remove of removals.splice(0).reverse()) await remove();
  });
  return {
    dir: async () => {
      const d = await tempDir();
      removals.push(d.remove);
      return d.path;
    },
    later: (remove) => removals.push(remove),
  };
}
