/**
 * The Node.js flags Vigil's launchers run it with: the `vigil` command's first line, `npm start`, `npm run demo`
 * and the container's entry point (app/runtime-flags.test.ts keeps them in step with this list).
 *
 * `--max-semi-space-size=32` (MiB; V8's default is 16 on 64-bit): the readings of a group commit wait about a
 * millisecond for their fsync, long enough to survive a scavenge of a small young generation and be copied
 * for nothing. With 32 MiB, garbage collection fell from 8 % to 4 % of the main thread in the soak of
 * `npm run bench` (docs/benchmarks.md), for at most 32 MiB more memory.
 *
 * `--no-allocation-site-pretenuring`: V8 watches where objects are allocated, and when most of one site's objects
 * survive a scavenge it allocates that site's objects in the old generation from then on. Under load a scavenge
 * finds a whole commit's messages alive (they wait a millisecond or two for their fsync), so sites on the
 * message path were switched over: each message's objects were then born old and died there, and the young
 * ones they pointed to were kept alive and promoted with them. That happened in about half the runs: 250-350 MB
 * promoted instead of about 50, 450 MiB resident instead of 260-300, about a tenth fewer readings a second
 * (docs/benchmarks.md, "An eleventh look"). Without it no run went that way.
 */
export const RUNTIME_FLAGS = ['--max-semi-space-size=32', '--no-allocation-site-pretenuring'] as const;
