// The worker's preload (see workflow-threads.ts, which names it in the worker's node flags). Plain
// JS: in the SDK's workflow threads, node imports it before tsx can load TypeScript there.
//
// In its workflow threads the SDK records a source-mapped stack trace for every promise workflow
// code makes, for the stack trace query (the Temporal UI's "Stack Trace" tab). That costs about a
// tenth of a millisecond a promise, and the SDK has no option to leave it out
// (temporalio/sdk-typescript#1587). Unless WORKER_WORKFLOW_STACK_TRACES is `on`, each workflow
// thread skips installing that hook, which puts the SDK in the state it runs in where promise
// hooks are missing: the query answers "Workflow stack traces are not enabled on this worker".
// Node's own promise hooks (AsyncLocalStorage, which the SDK's Updates run in), error stacks and
// replay stay as they are.
import { createRequire } from 'node:module';
import process from 'node:process';
import { isMainThread } from 'node:worker_threads';

if (!isMainThread && process.env.WORKER_WORKFLOW_STACK_TRACES !== 'on') {
  const require = createRequire(import.meta.url);
  // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- an internal module of the SDK, untyped; its shape is checked below
  const sdk = require('@temporalio/worker/lib/workflow/vm-shared.js');
  // An SDK without this hook point keeps its stack traces: slower, never wrong (a test checks it).
  if (sdk.globalHandlers && typeof sdk.globalHandlers.setPromiseHook === 'function') sdk.globalHandlers.setPromiseHook = () => undefined;
}
