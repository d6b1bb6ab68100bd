/**
 * The Node.js flags Vigil's launchers run it with: the `vigil` command's first line, `npm start`, `npm run demo`
 * and the container's entry point (app/runtime-flags.test.ts keeps them in step with this list).
 *
 * `--max-semi-space-size=32` (MiB; V8's default is 16 on 64-bit): the readings of a group commit wait about a
 * millisecond for their fsync, long enough to survive a scavenge of a small young generation and be copied
 * for nothing. With 32 MiB, garbage collection fell from 8 % to 4 % of the main thread in the soak of
 * `npm run bench` (docs/benchmarks.md), for at most 32 MiB more memory.
 */
export const RUNTIME_FLAGS = ['--max-semi-space-size=32'] as const;
