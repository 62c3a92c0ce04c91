import { randomUUID } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy, type ScheduleHandle, type WorkflowHandle } from '@temporalio/client';
import type { WorkerOptions, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pg from 'pg';
import { readEnv } from '../../src/config/env.js';
import { defaultMaintenanceWindow, tenantNamespace, workflowIdFor, type Command, type InstanceSpecInput, type InstanceState } from '../../src/domain/index.js';
import { InstanceSpec } from '../../src/domain/index.js';
import { bundleClaimflowWorkflows, createClaimflowWorker } from '../../src/worker/create-worker.js';
import { commandUpdates, initialInstanceSearchAttributes, instanceWindowKey, stateQuery, type CommandAccepted, type LifecycleSettings } from '../../src/workflows/messages.js';
import { instanceWorkflow } from '../../src/workflows/index.js';
import { testEnv, uniqueName } from './env.js';

// What lifecycle tests share: a worker on the real dev server, a Temporal client, the read
// model's pool, and small helpers to start instances and wait for their state.

export const FAST_SETTINGS: Partial<LifecycleSettings> = {
  provisionTimeoutMs: 30_000,
  pendingRestartTimeoutMs: 15_000,
  operationTimeoutMs: 30_000,
  backupTimeoutMs: 30_000,
  deleteTimeoutMs: 30_000,
  heartbeatTimeoutMs: 4_000,
};

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
export const workflowBundle = () => (bundle ??= bundleClaimflowWorkflows(quietLogger));

const quietLogger = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

export function workerEnv(taskQueue: string) {
  return {
    ...readEnv({}),
    TEMPORAL_ADDRESS: testEnv.temporalAddress,
    TEMPORAL_NAMESPACE: testEnv.temporalNamespace,
    TEMPORAL_TASK_QUEUE: taskQueue,
    DATABASE_URL: testEnv.databaseUrl,
    KUBECONFIG: testEnv.kubeconfigPath,
    // Each test run's workers have their own task queue, so each gets its own fleet coordinator.
    MAINTENANCE_FLEET_ID: `maintenance-fleet-${taskQueue}`,
    // Off unless a test asks: a worker of `npm run up` may hold the default port beside the tests.
    WORKER_METRICS_PORT: 0,
  };
}

/** Runs a claimflow worker in this process on the test bundle; returns what stops it. */
export async function runInProcessWorker(env: ReturnType<typeof workerEnv>, overrides: Partial<WorkerOptions> = {}): Promise<() => Promise<void>> {
  const worker = await createClaimflowWorker(env, { workflowBundle: await workflowBundle(), ...overrides });
  const running = worker.run();
  return async () => {
    worker.shutdown();
    await running;
    await worker.close();
  };
}

export interface Harness {
  client: Client;
  pool: pg.Pool;
  taskQueue: string;
  stop: () => Promise<void>;
}

/** A Temporal client, a pool and (unless told not to) an in-process worker on a fresh task queue, with the worker options given. */
export async function startHarness(options: { inProcessWorker?: boolean; workerOverrides?: Partial<WorkerOptions> } = {}): Promise<Harness> {
  const taskQueue = uniqueName('tq');
  const connection = await Connection.connect({ address: testEnv.temporalAddress });
  const client = new Client({ connection, namespace: testEnv.temporalNamespace });
  const pool = new pg.Pool({ connectionString: testEnv.databaseUrl, max: 4 });
  let shutdown = (): Promise<void> => Promise.resolve();
  if (options.inProcessWorker !== false) {
    shutdown = await runInProcessWorker(workerEnv(taskQueue), options.workerOverrides);
  } else {
    const { migrateReadModel } = await import('../../src/activities/readmodel/migrate.js');
    await migrateReadModel(testEnv.databaseUrl);
  }
  return {
    client,
    pool,
    taskQueue,
    stop: async () => {
      await shutdown();
      await pool.end();
      await connection.close();
    },
  };
}

export interface StartedInstance {
  tenant: string;
  name: string;
  namespace: string;
  instanceId: string;
  handle: WorkflowHandle<typeof instanceWorkflow>;
  /** Its maintenance window's key (the window Schedule's and search attribute's). */
  window: string;
}

export async function startInstance(
  harness: Harness,
  spec: Partial<InstanceSpecInput> = {},
  settings: Partial<LifecycleSettings> = FAST_SETTINGS,
  tenant: string = uniqueName('t').slice(0, 12),
): Promise<StartedInstance> {
  const name = spec.name ?? uniqueName('db').slice(0, 14);
  const parsed = InstanceSpec.parse({ version: '15.10', size: 'small', ...spec, name });
  const instanceId = randomUUID();
  const input = {
    tenant, instanceId, requestId: randomUUID(), actor: `${tenant}:test`, settings,
    spec: { ...parsed, maintenanceWindow: parsed.maintenanceWindow ?? defaultMaintenanceWindow(tenant, name) },
  };
  const handle = await harness.client.workflow.start(instanceWorkflow, {
    workflowId: workflowIdFor(tenant, name),
    taskQueue: harness.taskQueue,
    args: [input],
    typedSearchAttributes: initialInstanceSearchAttributes(input),
  });
  return { tenant, name, namespace: tenantNamespace(tenant), instanceId, handle, window: instanceWindowKey(input) };
}

export async function send(instance: StartedInstance, command: Command, requestId: string = randomUUID()): Promise<CommandAccepted> {
  return instance.handle.executeUpdate(commandUpdates[command.kind], { args: [{ requestId, actor: `${instance.tenant}:test`, command }], updateId: requestId });
}

/** Sends a command and returns once the workflow accepted it (its handler runs on). */
export async function start(instance: StartedInstance, command: Command, requestId: string = randomUUID()): Promise<string> {
  await instance.handle.startUpdate(commandUpdates[command.kind], {
    args: [{ requestId, actor: `${instance.tenant}:test`, command }],
    updateId: requestId,
    waitForStage: 'ACCEPTED',
  });
  return requestId;
}

/** Polls until `probe` returns a value (not undefined); tests wait for outcomes, never assert timings. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/**
 * Has a Schedule start its action now, overlapping any run of its own, and gives that run's
 * workflow id. The server names such a run after the second it starts in and drops a second one
 * named alike as a duplicate: a trigger in the same second as the last action waits for the next.
 */
export async function triggerSchedule(schedule: ScheduleHandle): Promise<string> {
  const { info } = await eventually(`a description of Schedule ${schedule.scheduleId}`, () => schedule.describe());
  const last = Math.max(0, ...info.recentActions.map((action) => Math.max(action.scheduledAt.getTime(), action.takenAt.getTime())));
  const nextSecond = Math.floor(last / 1000) * 1000 + 1000;
  if (Date.now() < nextSecond) await new Promise((resolve) => setTimeout(resolve, nextSecond - Date.now()));
  await schedule.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
  return eventually(`Schedule ${schedule.scheduleId} to start its run`, async () => {
    const now = (await schedule.describe()).info;
    return now.numActionsTaken > info.numActionsTaken ? now.recentActions.at(-1)?.action.workflow.workflowId : undefined;
  });
}

export const stateOf = (instance: StartedInstance) => instance.handle.query(stateQuery);

export const waitForState = (instance: StartedInstance, what: string, test: (state: InstanceState) => boolean, timeoutMs?: number) =>
  eventually(what, async () => {
    const state = await stateOf(instance);
    return state && test(state) ? state : undefined;
  }, timeoutMs);

export const idle = (state: InstanceState) => state.runningOperation === null;
export const readyAndIdle = (state: InstanceState) => state.phase === 'ready' && idle(state);

export async function readModelRow(pool: pg.Pool, instanceId: string) {
  const { rows } = await pool.query<{ phase: string; version: string | null; size: string; last_seq: number; state: InstanceState }>(
    'SELECT phase, version, size, last_seq, state FROM instances WHERE instance_id = $1',
    [instanceId],
  );
  return rows[0];
}

export async function eventTypes(pool: pg.Pool, instanceId: string): Promise<string[]> {
  const { rows } = await pool.query<{ type: string }>('SELECT type FROM instance_events WHERE instance_id = $1 ORDER BY seq', [instanceId]);
  return rows.map((row) => row.type);
}

/** Waits until the read model has caught up with the workflow's state. */
export async function projected(harness: Harness, instance: StartedInstance): Promise<InstanceState> {
  return eventually('the read model to catch up', async () => {
    const state = await stateOf(instance);
    const row = await readModelRow(harness.pool, instance.instanceId);
    return state && row && row.last_seq === state.lastSeq ? state : undefined;
  });
}
