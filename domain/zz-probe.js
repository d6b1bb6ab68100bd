import { z } from 'zod';
export const probe = z.object({ a: z.number(), d: z.date().optional() });
//# sourceMappingURL=zz-probe.js.map