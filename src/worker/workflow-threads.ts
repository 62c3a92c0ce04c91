import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

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
