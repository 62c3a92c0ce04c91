import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode, type Logger, type WorkerOptions } from '@temporalio/worker';
import pg from 'pg';
import { createActivities } from '../activities/index.js';
import { createKubeClients, loadKubeConfig } from '../activities/kubernetes/client.js';
import { migrateReadModel } from '../activities/readmodel/migrate.js';
import type { Env } from '../config/env.js';
import { observeProjected, type Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Evaluated once per workflow thread instead of once per cached workflow (see the module). */
const SHARED_WORKFLOW_MODULES = [fileURLToPath(new URL('../workflows/shared-modules.ts', import.meta.url))];

/** The workflow bundle as the worker builds it at start-up, for a prebuilt image, tests and benches. */
export const bundleClaimflowWorkflows = (logger?: Logger) =>
  bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, preloadModules: SHARED_WORKFLOW_MODULES, ...(logger ? { logger } : {}) });

/** Where the workflow code comes from: a bundle handed in (tests), one prebuilt (images), or bundled at start. */
function workflowCode(env: Env, overrides: Partial<WorkerOptions>): Partial<WorkerOptions> {
  if (overrides.workflowBundle) return {};
  if (env.WORKER_WORKFLOW_BUNDLE) return { workflowBundle: { codePath: env.WORKER_WORKFLOW_BUNDLE } };
  return { workflowsPath: WORKFLOWS_PATH, bundlerOptions: { preloadModules: SHARED_WORKFLOW_MODULES } };
}

export interface ClaimflowWorker {
  worker: Worker;
  /** Closes what the worker opened, after `worker.run()` has returned. */
  close: () => Promise<void>;
}

/** Builds a worker wired to real ports: Temporal, the Kubernetes API and the read model. */
export interface Observability {
  metrics?: Metrics;
  tracing?: Tracing;
}

export async function createClaimflowWorker(env: Env, overrides: Partial<WorkerOptions> = {}, { metrics, tracing }: Observability = {}): Promise<ClaimflowWorker> {
  await migrateReadModel(env.DATABASE_URL);
  const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: env.DATABASE_POOL_SIZE });
  const connection = await NativeConnection.connect({ address: env.TEMPORAL_ADDRESS });
  const kube = createKubeClients(loadKubeConfig(env.KUBECONFIG));
  // Activities of the Temporal port (schedules, fleet slots) are clients of Temporal themselves.
  const clientConnection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  const temporal = new Client({ connection: clientConnection, namespace: env.TEMPORAL_NAMESPACE, ...(tracing ? { plugins: [tracing.plugin] } : {}) });
  const worker = await Worker.create({
    connection,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    ...workflowCode(env, overrides),
    activities: createActivities({ kube, pool, temporal }, {
        maintenanceMaxConcurrent: env.MAINTENANCE_MAX_CONCURRENT,
        fleetWorkflowId: env.MAINTENANCE_FLEET_ID,
        ...(metrics ? { observeProjection: (event, after, before) => observeProjected(metrics, event, after, before) } : {}),
      }),
    // Explicit, not the heap heuristic: each cached instance costs memory, and a fleet is large.
    maxCachedWorkflows: env.WORKER_MAX_CACHED_WORKFLOWS,
    maxConcurrentActivityTaskExecutions: env.WORKER_MAX_CONCURRENT_ACTIVITIES,
    shutdownGraceTime: env.WORKER_SHUTDOWN_GRACE_MS,
    ...(tracing ? { plugins: [tracing.plugin] } : {}),
    ...overrides,
  });
  return {
    worker,
    close: async () => {
      await connection.close();
      await clientConnection.close();
      await pool.end();
    },
  };
}
