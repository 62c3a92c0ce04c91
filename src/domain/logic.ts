// The domain as workflow code imports it: everything but the built schemas, whose types come along.
// A workflow thread evaluates these modules once per workflow, so nothing here builds a zod schema
// when imported; the schemas a workflow validates with are its thread's (src/workflows/shared-modules.ts).
export * from './catalog.js';
export * from './decisions.js';
export * from './events.js';
export * from './maintenance.js';
export * from './names.js';
export * from './reducer.js';
export * from './sizes.js';
export * from './spec.js';
export * from './state.js';
export * from './retention.js';
export * from './scheduled-work.js';
export * from './notifications.js';
export type * from './schemas.js';
