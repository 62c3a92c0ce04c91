import { defineSchemas, type DomainSchemas } from '../domain/define-schemas.js';

// Loaded once per workflow thread, before any workflow, and shared by every workflow in it
// (WorkerOptions.bundlerOptions.preloadModules). Each workflow evaluates its own modules anew, so
// the domain's zod schemas built there would cost every workflow started or replayed about 2 ms
// and 170 KiB it keeps while cached (BENCHMARKS.md). Built here, they cost that once per thread.
//
// The worker deep-freezes what shared modules export once this has run, and zod writes to a
// schema after building it (methods bound on first read, parsers memoized on first parse). So the
// schemas are held here, where the freeze does not reach, and handed out by a function. Building
// every schema the domain has before the freeze also installs the methods zod puts on each schema
// type's prototype, which a schema of a new type built after it would fail to do.
const schemas = defineSchemas();

/** The domain's schemas, as this workflow thread built them: stateless, so every workflow shares them. */
export const domainSchemas = (): DomainSchemas => schemas;
