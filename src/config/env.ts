import { z } from 'zod';

// Configuration from the environment, checked once at start-up so a typo fails loudly with the
// variable's name instead of as a connection error later.

const Env = z.object({
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('claimflow'),
  TEMPORAL_TASK_QUEUE: z.string().default('claimflow'),
  /** Where the Schedules start their runs; unset: the task queue with `-scheduled` (see scheduledTaskQueue). */
  TEMPORAL_SCHEDULED_TASK_QUEUE: z.string().min(1).optional(),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/claimflow'),
  KUBECONFIG: z.string().optional(),
  /** A workflow bundle prebuilt at image build time (scripts/bundle-workflows.ts); unset: bundle at start. */
  WORKER_WORKFLOW_BUNDLE: z.string().optional(),
  /**
   * Cached instances of the instances' task queue. A cache smaller than a maintenance window makes
   * the window's instances replay their histories at each step (BENCHMARKS.md); 1,000 fit the
   * default 512 MiB workflow thread (about 1,100 do) and a 1 GiB worker.
   */
  WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(1000),
  /** Cached runs of the scheduled task queue: a run waits for its instance's report, a few events long. */
  WORKER_SCHEDULED_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).default(200),
  WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).default(200),
  WORKER_SHUTDOWN_GRACE_MS: z.coerce.number().int().min(0).default(30_000),
  /**
   * `on`: the workflow threads record a stack trace per promise for the stack trace query (the
   * Temporal UI's "Stack Trace" tab), at an eighth of the worker's CPU in a provisioning. Takes effect only
   * with the worker's preload (src/worker/workflow-threads-preload.mjs); without it they are always on.
   */
  WORKER_WORKFLOW_STACK_TRACES: z.enum(['on', 'off']).default('off'),
  /**
   * The V8 old space of each of the worker's two workflow threads, in MiB (see capWorkflowThreadHeap),
   * or `off` for what NODE_OPTIONS gives every isolate (else V8's default); unset: sized from
   * WORKER_MAX_CACHED_WORKFLOWS (workflowThreadHeapMB). It bounds what a burst leaves behind; the
   * cached workflows must fit in it (the worker warns at start if a size set here may not hold them).
   */
  WORKER_WORKFLOW_HEAP_MB: z.union([z.literal('off'), z.coerce.number().int().min(128, 'must be at least 128 (MiB)')], { error: 'must be a size in MiB (at least 128) or off' }).optional(),
  MAINTENANCE_MAX_CONCURRENT: z.coerce.number().int().min(1).default(10),
  MAINTENANCE_FLEET_ID: z.string().min(1).default('maintenance-fleet'),
  /**
   * How often the Schedule keeper has the maintenance-window and backup Schedules that went missing
   * made again and reports instances whose workflow ended by hand (a duration as Temporal reads it:
   * 30m, 1h, 1d), or `off` (a worker starting so deletes the keeper's Schedule).
   */
  SCHEDULE_KEEPER_EVERY: z.union([z.literal('off'), z.string().regex(/^[1-9]\d*(m|h|d)$/, 'must be a duration such as 30m, 1h or 1d, or off')]).default('1h'),
  /** The worker's /metrics (0: off). The SDK's own exporter listens on the next port, loopback only. */
  WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65534).default(9464),
  WORKER_METRICS_HOST: z.string().default('127.0.0.1'),
  /** OTLP/HTTP endpoint (e.g. http://collector:4318); unset: no tracing. */
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess((value) => (value === '' ? undefined : value), z.url().optional()),
  DATABASE_POOL_SIZE: z.coerce.number().int().min(1).default(10),
  CLAIMFLOW_API_HOST: z.string().default('127.0.0.1'),
  CLAIMFLOW_API_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
});
export type Env = z.infer<typeof Env>;

/**
 * The task queue of the Schedules' run workflows. Their own queue, polled by a worker of their
 * own: every run's first workflow task then waits behind other runs only, not behind the
 * instances' tasks (the SDK polls a queue's new workflows sparingly while its cached ones have a
 * backlog, BENCHMARKS.md).
 */
export const scheduledTaskQueue = (env: Pick<Env, 'TEMPORAL_TASK_QUEUE' | 'TEMPORAL_SCHEDULED_TASK_QUEUE'>): string =>
  env.TEMPORAL_SCHEDULED_TASK_QUEUE ?? `${env.TEMPORAL_TASK_QUEUE}-scheduled`;

export function readEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = Env.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
    throw new Error(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}
