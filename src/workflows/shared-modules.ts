import { z } from 'zod';

// Loaded once per workflow thread, before any workflow, and shared by every workflow in it
// (WorkerOptions.bundlerOptions.preloadModules): zod holds no per-workflow state, and evaluating
// it anew for each cached workflow was most of a cached instance's memory (BENCHMARKS.md).
//
// The worker freezes shared modules after this runs. zod installs each schema type's methods on
// its prototype when the first schema of that type is built, so one of every type the domain
// uses is built (and used) here, before the freeze; the domain's own schemas are then built per
// workflow, unfrozen. A type missing here fails loudly: every workflow builds every domain schema
// when it starts, so the first test that starts one throws "object is not extensible".
const specimen = z.strictObject({
  text: z.string().min(1).max(10).regex(/^[a-z]+$/).optional(),
  number: z.number().int().min(0).max(10).default(1),
  flag: z.boolean().nullable(),
  choice: z.enum(['a', 'b']),
  exact: z.literal('x'),
  list: z.array(z.string()).max(3),
  at: z.iso.datetime({ offset: true }).optional(),
  url: z.url({ protocol: /^https?$/ }).max(100).optional(),
  checked: z.string().refine((value) => value.length > 0, { message: 'empty' }),
  tagged: z.discriminatedUnion('kind', [z.strictObject({ kind: z.literal('one') }), z.strictObject({ kind: z.literal('two'), n: z.number() })]),
});
specimen.safeParse({ flag: null, choice: 'a', exact: 'x', list: [], checked: 'y', tagged: { kind: 'two', n: 1 } });
specimen.safeParse({ text: 'UPPER', flag: 1, choice: 'c', list: [1], at: 'then', url: 'ftp://x', checked: '', tagged: { kind: 'three' } });

