import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime, Worker, bundleWorkflowCode, type Logger, type WorkerOptions } from '@temporalio/worker';
import pg from 'pg';
import { createActivities } from '../activities/index.js';
import { createKubeClients, loadKubeConfig } from '../activities/kubernetes/client.js';
import { migrateReadModel } from '../activities/readmodel/migrate.js';
import { ensureScheduleKeeper } from '../activities/temporal/schedule-keeper.js';
import { scheduledTaskQueue, type Env } from '../config/env.js';
import { observeKeeperRun, observeProjected, type Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { capWorkflowThreadHeap, workflowThreadHeapMB } from './workflow-threads.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** How the worker's read-model connections show in pg_stat_activity (a DATABASE_URL's own application_name wins). */
export const WORKER_DATABASE_APPLICATION = 'claimflow-worker';

/** Evaluated once per workflow thread instead of once per cached workflow (see the module). */
const SHARED_WORKFLOW_MODULES = [fileURLToPath(new URL('../workflows/shared-modules.ts', import.meta.url))];

/** The workflow bundle as the worker builds it at start-up, for a prebuilt image, tests and benches. */
export const bundleClaimflowWorkflows = (logger?: Logger) =>
  bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: SHARED_WORKFLOW_MODULES, ...(logger ? { logger } : {}) });

/** Only the Schedules' run workflows, for the worker of their own task queue. */
export const SCHEDULED_WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/scheduled/index.ts', import.meta.url));

/** Where the workflow code comes from: a bundle handed in (tests), one prebuilt (images), or bundled at start. */
function workflowCode(env: Env, overrides: Partial<WorkerOptions>, workflowsPath: string): Partial<WorkerOptions> {
  if (overrides.workflowBundle) return {};
  if (env.WORKER_WORKFLOW_BUNDLE) return { workflowBundle: { codePath: env.WORKER_WORKFLOW_BUNDLE } };
  return { workflowsPath, bundlerOptions: { preloadModules: SHARED_WORKFLOW_MODULES } };
}

/**
 * The worker of the instances' task queue and the worker of the Schedules' runs (see
 * scheduledTaskQueue), run and stopped together.
 */
export class ClaimflowWorker {
  constructor(
    readonly instances: Worker,
    readonly scheduled: Worker,
    private readonly closeClients: () => Promise<void>,
  ) {}

  /** Resolves when both have stopped; if one fails, the other is shut down and the failure rethrown. */
  async run(): Promise<void> {
    const runs = this.both.map((worker) => worker.run());
    try {
      await Promise.all(runs);
    } catch (error) {
      this.shutdown();
      await Promise.allSettled(runs);
      throw error;
    }
  }

  /** Starts a graceful shutdown of both (the SDK's shutdown signals do the same). */
  shutdown(): void {
    for (const worker of this.both) if (worker.getState() === 'RUNNING') worker.shutdown();
  }

  private get both(): Worker[] {
    return [this.instances, this.scheduled];
  }

  /** Closes what the workers opened, after `run()` has returned. */
  close(): Promise<void> {
    return this.closeClients();
  }
}

export interface Observability {
  metrics?: Metrics;
  tracing?: Tracing;
}

/** Builds the workers wired to real ports: Temporal, the Kubernetes API and the read model. */
export async function createClaimflowWorker(env: Env, overrides: Partial<WorkerOptions> = {}, { metrics, tracing }: Observability = {}): Promise<ClaimflowWorker> {
  await migrateReadModel(env.DATABASE_URL);
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE, application_name: WORKER_DATABASE_APPLICATION });
  // An idle connection that PostgreSQL ends (a restart, a failover, an idle timeout) must not take
  // the worker down: the pool drops that client, and the next query connects afresh.
  pool.on('error', (error) => {
    Runtime.instance().logger.warn('PostgreSQL connection lost', { error: error.message });
  });
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const kube = createKubeClients(loadKubeConfig(env.KUBECONFIG));
  // Activities of the Temporal port (schedules, fleet slots) are clients of Temporal themselves.
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE, ...(tracing ? { plugins: [tracing.plugin] } : {}) });
  const scheduledQueue = scheduledTaskQueue(env);
  // One set for both workers: the fleet's slot batching is per process.
  const activities = createActivities({ kube, pool, temporal }, {
    maintenanceMaxConcurrent: env.MAINTENANCE_MAX_CONCURRENT,
    fleetWorkflowId: env.MAINTENANCE_FLEET_ID,
    scheduledTaskQueue: scheduledQueue,
    ...(metrics ? {
      observeProjection: (event, after, before) => observeProjected(metrics, event, after, before),
      observeKeeperRun: (result) => observeKeeperRun(metrics, result),
    } : {}),
  });
  const shared: WorkerOptions = {
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    activities,
    maxConcurrentActivityTaskExecutions: env.WORKER_MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceTime: env.WORKER_SHUTDOWN_GRACE_MS,
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
  };
  // before Worker.create, which makes the workflow threads
  capWorkflowThreadHeap(workflowThreadHeapMB(env));
  const [instances, scheduled] = await Promise.all([
    Worker.create({
      ...shared,
      ...workflowCode(env, overrides, WORKFLOWS_PATH),
      // Explicit, not the heap heuristic: each cached instance costs memory, and a fleet is large.
      maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS,
      ...overrides,
    }),
    Worker.create({
      ...shared,
      ...workflowCode(env, overrides, SCHEDULED_WORKFLOWS_PATH),
      maxCachedWorkflows: env.WORKER_SCHEDULED_MAX_CACHED_WORKFLOWS,
      ...overrides,
      taskQueue: scheduledQueue,
    }),
  ]);
  await ensureScheduleKeeper(temporal, { instanceTaskQueue: env.TEMPORAL_TASK_QUEUE, taskQueue: scheduledQueue, every: env.SCHEDULE_KEEPER_EVERY });
  return new ClaimflowWorker(instances, scheduled, async () => {
    await connection.close();
    await clientConnection.close();
    await pool.end();
    kube.watches.stop();
  });
}
