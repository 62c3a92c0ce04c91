import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import type { Env } from '../config/env.js';

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
 * grows to several times its live cache in a burst before V8's memory reducer collects it
 * (BENCHMARKS.md). V8 reads the flag when it makes an isolate, so the main thread keeps its own;
 * with `off` the threads get what every isolate gets (NODE_OPTIONS, else V8's default).
 */
export function capWorkflowThreadHeap(megabytes: number | 'off'): void {
  if (megabytes !== 'off') setFlagsFromString(`--max-old-space-size=${megabytes}`);
}

/**
 * What a cached instance may keep live in its workflow thread. The footprint bench's instances,
 * whose states are small, keep about 0.1 MiB since the domain's schemas are built once per thread
 * (81 MB for 600; 187-190 MB before, BENCHMARKS.md); a state at its 100-backup limit carries about
 * 65 KiB more, so the sizing keeps the margin it had.
 */
const CACHED_INSTANCE_HEAP_MIB = 0.32;
/** A workflow thread with nothing cached: the bundle and the preloaded modules, about 26 MB. */
const EMPTY_THREAD_HEAP_MIB = 32;
/** The share of a capped heap the live cache may take, leaving V8 room to collect in. */
const LIVE_SHARE = 0.75;
/** The least a cap sized from the cache gives: the shipped cache of 1,000 fits it (about 1,100 do). */
const SIZED_HEAP_MIN_MIB = 512;

type HeapSettings = Pick<Env, 'WORKER_MAX_CACHED_WORKFLOWS' | 'WORKER_WORKFLOW_HEAP_MB'>;

/** The largest workflow cache a workflow thread with this heap cap holds comfortably, by the measured cost per cached instance. */
export function cacheThatFits(heapMB: number): number {
  return Math.max(0, Math.floor((heapMB * LIVE_SHARE - EMPTY_THREAD_HEAP_MIB) / CACHED_INSTANCE_HEAP_MIB));
}

/** The heap cap a workflow cache of this size needs (the inverse of cacheThatFits). */
function heapForCache(cache: number): number {
  return Math.ceil((EMPTY_THREAD_HEAP_MIB + cache * CACHED_INSTANCE_HEAP_MIB) / LIVE_SHARE);
}

/** The workflow threads' heap cap: the one set, or one sized from the cache (512 MiB up to a cache of about 1,100). */
export function workflowThreadHeapMB(env: HeapSettings): number | 'off' {
  return env.WORKER_WORKFLOW_HEAP_MB ?? Math.max(SIZED_HEAP_MIN_MIB, heapForCache(env.WORKER_MAX_CACHED_WORKFLOWS));
}

/**
 * Why the configured cache may not fit a heap cap set by hand, if it may not. Only a warning: a
 * cached instance's size depends on its state, and a thread that does outgrow its cap ends the
 * worker (ERR_WORKER_OUT_OF_MEMORY), whose replacement resumes every instance from its history.
 */
export function workflowHeapWarning(env: HeapSettings): string | undefined {
  const cap = env.WORKER_WORKFLOW_HEAP_MB;
  if (cap === undefined || cap === 'off' || env.WORKER_MAX_CACHED_WORKFLOWS <= cacheThatFits(cap)) return undefined;
  return `WORKER_MAX_CACHED_WORKFLOWS=${env.WORKER_MAX_CACHED_WORKFLOWS} may not fit WORKER_WORKFLOW_HEAP_MB=${cap}, which holds about ${cacheThatFits(cap)} cached instances: set WORKER_WORKFLOW_HEAP_MB to ${heapForCache(env.WORKER_MAX_CACHED_WORKFLOWS)} or more (and the memory limit with it), leave it unset to size it from the cache, or lower the cache`;
}
