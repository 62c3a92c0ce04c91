import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Worker } from '@temporalio/worker';
import pg from 'pg';
import { localActivityType, rebuildReadModel } from '../../src/activities/readmodel/rebuild.js';
import { LABELS } from '../../src/activities/kubernetes/resources.js';
import { WORKER_DATABASE_APPLICATION } from '../../src/worker/create-worker.js';
import { MAINTENANCE_WINDOW_ATTRIBUTE } from '../../src/workflows/messages.js';
import { scratchReadModel } from '../support/database.js';
import { recordHistoryFixture } from '../support/histories.js';
import { testEnv } from '../support/env.js';
import { spawnWorker as spawnWorkerProcess, stopWorkers } from '../support/worker-process.js';
import { annotateClaim, get, list } from '../support/kube.js';
import {
  FAST_SETTINGS, eventually, idle, projected, readModelRow, send, start, startInstance, stateOf, waitForState, workflowBundle,
  type Harness, readyAndIdle, startHarness, type StartedInstance,
} from '../support/lifecycle.js';

// What makes the workflow worth having: it survives crashes without doing anything twice, its
// history stays bounded, and the read model can be rebuilt from it.

let harness: Harness;
before(async () => {
  harness = await startHarness();
});
after(async () => harness.stop());

const ready = readyAndIdle;
const TABLES = {
  instances: 'SELECT * FROM instances WHERE instance_id = $1',
  events: 'SELECT * FROM instance_events WHERE instance_id = $1 ORDER BY seq',
  operations: 'SELECT * FROM operations WHERE instance_id = $1 ORDER BY operation_id',
  backups: 'SELECT * FROM backups WHERE instance_id = $1 ORDER BY name',
};

async function rows(pool: pg.Pool, instanceId: string) {
  const result: Record<string, unknown[]> = {};
  for (const [table, sql] of Object.entries(TABLES)) result[table] = (await pool.query(sql, [instanceId])).rows;
  return result;
}

describe('continue-as-new', () => {
  test('a long-lived instance continues as new with its state and the request ids it has seen', async () => {
    const instance = await startInstance(harness, {}, { ...FAST_SETTINGS, continueAsNewAfterEvents: 60 });
    await waitForState(instance, 'Ready', ready);
    const firstRun = (await instance.handle.describe()).runId;
    await send(instance, { kind: 'backup' }, 'backup-before-continue');
    for (let i = 0; i < 3; i++) await send(instance, { kind: 'restart' });
    const latest = harness.client.workflow.getHandle(instance.handle.workflowId);
    await eventually('a new run', async () => ((await latest.describe()).runId !== firstRun ? true : undefined));
    const continued: StartedInstance = { ...instance, handle: latest };
    const state = await waitForState(continued, 'the continued run to be idle', ready);
    const settled = await projected(harness, continued);
    assert.equal(state.backups.length, 1);
    assert.equal(state.lastOperation?.type, 'restart');
    // The same request id in the new run is recognised: nothing happens twice.
    const again = await send(continued, { kind: 'backup' }, 'backup-before-continue');
    assert.equal(again.duplicate, true);
    assert.equal((await list('sgbackups', instance.namespace)).length, 1);
    assert.deepEqual((await readModelRow(harness.pool, instance.instanceId))?.state, settled);
    // the new run is still found by its maintenance window's run
    assert.equal((await latest.describe()).typedSearchAttributes.get(MAINTENANCE_WINDOW_ATTRIBUTE), instance.window);
  });
});

describe('read model rebuild', () => {
  test('rebuilding from Temporal histories writes the same rows as live projection', async () => {
    const instance = await startInstance(harness, {}, { ...FAST_SETTINGS, continueAsNewAfterEvents: 60 });
    await waitForState(instance, 'Ready', ready);
    await send(instance, { kind: 'scale', size: 'large', applyAt: 'now' });
    await send(instance, { kind: 'backup' });
    await send(instance, { kind: 'upgrade', version: '15.13' });
    await send(instance, { kind: 'restart' });
    await projected(harness, instance);

    const target = await scratchReadModel('rebuild');
    const rebuilt = new pg.Pool({ connectionString: target, max: 2 });
    try {
      const live = await rows(harness.pool, instance.instanceId);
      // Visibility is eventually consistent: wait until every run of this instance is listed.
      await eventually('the rebuild to see every run', async () => {
        await rebuildReadModel({ client: harness.client, pool: rebuilt, query: `WorkflowId = '${instance.handle.workflowId}'` });
        const result = await rows(rebuilt, instance.instanceId);
        return JSON.stringify(result) === JSON.stringify(live) ? true : undefined;
      });
      assert.deepEqual(await rows(rebuilt, instance.instanceId), live);
      // Rebuilding again changes nothing.
      const second = await rebuildReadModel({ client: harness.client, pool: rebuilt, query: `WorkflowId = '${instance.handle.workflowId}'` });
      assert.equal(second.applied, 0);
    } finally {
      await rebuilt.end();
    }
  });
});

describe('worker crash', () => {
  const workers: ChildProcess[] = [];
  after(() => stopWorkers(workers));
  const spawnWorker = async (taskQueue: string) => {
    const worker = await spawnWorkerProcess(taskQueue);
    workers.push(worker);
    return worker;
  };

  test('killing the worker mid-operation: a new worker finishes it, with exactly one SGDbOps', async () => {
    // This suite's instance runs only on the worker processes below, not the in-process one.
    const processHarness = { ...harness, taskQueue: `${harness.taskQueue}-proc` };
    const first = await spawnWorker(processHarness.taskQueue);
    const instance = await startInstance(processHarness);
    // Slow operations down before the instance is even ready, so the simulator surely knows.
    await eventually('the claim', async () => ((await get('postgresqlinstances', instance.namespace, instance.name)) ? true : undefined));
    await annotateClaim(instance.namespace, instance.name, { 'op-delay-ms': '5000' });
    await waitForState(instance, 'Ready', ready);
    const operationId = await start(instance, { kind: 'restart' });
    await eventually('the SGDbOps to exist', async () => ((await list('sgdbops', instance.namespace)).length > 0 ? true : undefined));
    assert.equal((await stateOf(instance))?.runningOperation?.id, operationId, 'the worker dies while the operation runs');

    process.kill(-first.pid!, 'SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    await spawnWorker(processHarness.taskQueue);

    const state = await waitForState(instance, 'the restart to finish on the new worker', idle, 90_000);
    assert.equal(state.lastOperation?.id, operationId);
    assert.equal(state.lastOperation?.status, 'succeeded');
    const objects = await list('sgdbops', instance.namespace, `${LABELS.operation}=${operationId}`);
    assert.equal(objects.length, 1);
    const settled = await projected(harness, instance);
    assert.deepEqual((await readModelRow(harness.pool, instance.instanceId))?.state, settled);
  });
});

describe('read model connections lost', () => {
  const workers: ChildProcess[] = [];
  after(() => stopWorkers(workers));

  test('PostgreSQL ending the worker\'s connections does not stop it: the next projection connects afresh', async () => {
    const processHarness = { ...harness, taskQueue: `${harness.taskQueue}-pg` };
    // Its own name in pg_stat_activity, so that only this process's connections are ended.
    const applicationName = `${WORKER_DATABASE_APPLICATION}-${processHarness.taskQueue}`;
    const databaseUrl = new URL(testEnv.databaseUrl);
    databaseUrl.searchParams.set('application_name', applicationName);
    const worker = await spawnWorkerProcess(processHarness.taskQueue, { DATABASE_URL: databaseUrl.toString() });
    workers.push(worker);
    const exited = new Promise<never>((_, reject) =>
      worker.once('exit', (code, signal) => reject(new Error(`the worker process exited (code ${code}, signal ${signal})`))),
    );
    exited.catch(() => undefined); // unobserved if the worker lives on
    // With no worker left, the Update below would wait for one forever: fail at once instead.
    const whileRunning = <T>(step: Promise<T>): Promise<T> => Promise.race([step, exited]);
    const instance = await startInstance(processHarness);
    await waitForState(instance, 'Ready', ready);
    await projected(harness, instance);

    // What a PostgreSQL restart or failover does to every idle connection of the pool.
    const { rows: ended } = await harness.pool.query<{ pid: number }>(
      'SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1',
      [applicationName],
    );
    assert.ok(ended.length > 0, 'the worker had read-model connections to end');

    const operationId = await whileRunning(start(instance, { kind: 'restart' }));
    const state = await whileRunning(waitForState(instance, 'the restart to finish', idle));
    assert.equal(state.lastOperation?.id, operationId);
    assert.equal(state.lastOperation?.status, 'succeeded');
    const settled = await projected(harness, instance);
    assert.deepEqual((await readModelRow(harness.pool, instance.instanceId))?.state, settled);
    assert.equal(worker.exitCode, null, 'the worker process is still running');
  });
});

describe('replay', () => {
  test('histories of this run replay deterministically against the current code', async () => {
    const instance = await startInstance(harness);
    await waitForState(instance, 'Ready', ready);
    await send(instance, { kind: 'upgrade', version: '16.9' });
    await send(instance, { kind: 'deprovision', finalBackup: true });
    await instance.handle.result();
    const history = await instance.handle.fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, history);
    // Each patch asked costs a marker and a visibility write: a new run asks only the newest baseline.
    const patchMarkers = history.events?.filter((event) => event.markerRecordedEventAttributes?.markerName === 'core_patch') ?? [];
    const patchIds = patchMarkers.map((event) => JSON.parse(Buffer.from(event.markerRecordedEventAttributes!.details!['patch-data']!.payloads![0]!.data!).toString()).id);
    assert.deepEqual(patchIds, ['instance-patches-2026-12-06b'], 'one patch marker: the newest baseline, which answers every older patch');
    // The phase the API set at start is not upserted again; later phases are.
    const phases = history.events?.flatMap((event) => {
      const field = event.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.ClaimflowPhase;
      return field?.data ? [JSON.parse(Buffer.from(field.data).toString())] : [];
    });
    assert.deepEqual(phases, ['ready', 'deprovisioning', 'deleted']);
    // The claim is applied inside workflow tasks (the provisioning's and the major upgrade's), never as a task of its own.
    const scheduled = history.events?.flatMap((event) => event.activityTaskScheduledEventAttributes?.activityType?.name ?? []) ?? [];
    assert.ok(!scheduled.includes('applyClaim'), `no applyClaim activity task: ${scheduled.join(', ')}`);
    assert.equal(history.events?.filter((event) => localActivityType(event) === 'applyClaim').length, 2);
    // RECORD_HISTORY=<name> npm test -- test/integration/durability.test.ts records this history
    // as a replay fixture for test/unit/replay.test.ts.
    recordHistoryFixture('RECORD_HISTORY', history);
  });
});
