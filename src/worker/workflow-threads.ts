import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// How node starts the worker, one place for every start command that is code (the local stack,
// benches, tests); the Dockerfile, compose, the Kubernetes manifest and package.json spell out the
// same flags, and a packaging test holds them to these.

/** Tunes the SDK's workflow threads; the why is in the file. */
export const WORKFLOW_THREADS_PRELOAD = fileURLToPath(new URL('./workflow-threads-preload.mjs', import.meta.url));

/** TypeScript through tsx, then the preload. */
export const WORKER_NODE_FLAGS = ['--import', 'tsx', '--import', WORKFLOW_THREADS_PRELOAD];

/** Whether the workflow threads of a worker started with these flags and this setting record a stack trace per promise. */
export function workflowStackTraces(env: { WORKER_WORKFLOW_STACK_TRACES: 'on' | 'off' }, execArgv: string[] = process.execArgv): 'on' | 'off' {
  const preloaded = execArgv.some((arg) => arg.endsWith(basename(WORKFLOW_THREADS_PRELOAD)));
  return preloaded && env.WORKER_WORKFLOW_STACK_TRACES === 'off' ? 'off' : 'on';
}

/**
 * Caps the V8 old space of every isolate made after this call; in the worker, that is the SDK's
 * workflow threads, which Worker.create makes and gives no limits of their own. A `--max-old-space-size`
 * in NODE_OPTIONS is not a process's budget but each isolate's, the main thread's and every
 * thread's alike; left at V8's default (a quarter of the machine's memory each), a workflow thread
 * holds a burst's garbage until V8 is idle, several times its live cache (BENCHMARKS.md). V8 reads
 * the flag when it makes an isolate, so the main thread keeps its own.
 */
export function capWorkflowThreadHeap(megabytes: number | 'off'): void {
  if (megabytes !== 'off') setFlagsFromString(`--max-old-space-size=${megabytes}`);
}
