import assert from 'node:assert/strict';
import { test } from 'node:test';
import { freePortPair } from '../../stack/config.js';
import { OPERATION_TYPES } from '../../src/domain/index.js';
import { scheduleKeeperId, windowScheduleId } from '../../src/workflows/messages.js';
import { annotateClaim, get } from '../support/kube.js';
import { eventually, send, startInstance, triggerSchedule, waitForState } from '../support/lifecycle.js';
import { sample } from '../support/prometheus.js';
import { workerProcessHarness } from '../support/worker-process.js';

// The worker's /metrics after a small lifecycle: claimflow's series and the Temporal SDK's.

const processes = workerProcessHarness();

test('the worker exposes operations, durations, projection lag, reaction time and SDK metrics', async () => {
  const port = await freePortPair();
  await processes.spawn({ WORKER_METRICS_PORT: String(port) });
  // Before anything happened, every series an alert counts is there at 0: Prometheus sees no rise
  // in a series born at 1, so the first failure after a start would alert nobody.
  const atStart = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  for (const series of [
    ...OPERATION_TYPES.map((type) => `claimflow_operations_total{type="${type}",result="failed"}`),
    'claimflow_maintenance_runs_total{status="skipped"}',
    'claimflow_schedules_restored_total{kind="window"}',
    'claimflow_schedules_restored_total{kind="backup"}',
    'claimflow_unmanaged_instances_found_total',
  ]) {
    assert.equal(sample(atStart, series), 0, series);
  }
  const instance = await startInstance(processes.harness());
  await eventually('the claim', async () => ((await get('postgresqlinstances', instance.namespace, instance.name)) ? true : undefined));
  await annotateClaim(instance.namespace, instance.name, { 'fail-ops': 'restart' });
  await waitForState(instance, 'Ready', (state) => state.phase === 'ready' && !state.runningOperation);
  await send(instance, { kind: 'upgrade', version: '15.13' });
  await send(instance, { kind: 'restart' });

  const text = await eventually('the metrics to show the failed restart', async () => {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return sample(body, 'claimflow_operations_total{type="restart",result="failed"}') >= 1 ? body : undefined;
  });
  assert.ok(sample(text, 'claimflow_operations_total{type="provision",result="succeeded"}') >= 1);
  assert.ok(sample(text, 'claimflow_operations_total{type="minor-upgrade",result="succeeded"}') >= 1);
  assert.ok(sample(text, 'claimflow_operation_duration_seconds_count{type="minor-upgrade",result="succeeded"}') >= 1);
  assert.ok(sample(text, 'claimflow_operation_duration_seconds_sum{type="minor-upgrade",result="succeeded"}') > 0, 'an upgrade takes time');
  assert.ok(sample(text, 'claimflow_claim_ready_to_read_model_seconds_count') >= 1);
  assert.ok(sample(text, 'claimflow_claim_ready_to_read_model_seconds_sum') < 60, 'reaction time is plausible');
  assert.ok(sample(text, 'claimflow_projection_lag_seconds_count') >= 5);
  assert.ok(sample(text, 'claimflow_events_projected_total{type="InstanceRequested"}') >= 1);
  assert.match(text, /^temporal_\w+/m, 'the Temporal SDK worker metrics are included');

  // A window Schedule deleted by hand, made again by the keeper, is counted: worth an alert.
  const { client, taskQueue } = processes.harness();
  await client.schedule.getHandle(windowScheduleId(taskQueue, instance.window)).delete();
  await triggerSchedule(client.schedule.getHandle(scheduleKeeperId(taskQueue)));
  await eventually('the keeper to count the window Schedule it made again', async () => {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return sample(body, 'claimflow_schedules_restored_total{kind="window"}') === 1 ? true : undefined;
  });

  // So is an instance whose workflow was ended by hand: nothing maintains it any more.
  await instance.handle.terminate('ended by hand');
  await triggerSchedule(client.schedule.getHandle(scheduleKeeperId(taskQueue)));
  await eventually('the keeper to count the instance whose workflow ended', async () => {
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return sample(body, 'claimflow_unmanaged_instances_found_total') >= 1 ? true : undefined;
  });

  // A workflow task that fails (here: a type the worker does not know) shows in the SDK's series
  // that ClaimflowWorkflowTasksFailing sums by workflow_type: its name and label as exported.
  const failing = await client.workflow.start('noSuchWorkflow', { taskQueue, workflowId: `metrics-${instance.name}-unknown-type` });
  try {
    await eventually('the SDK to count the failed workflow task', async () => {
      const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const failed = body.split('\n').find((line) => /^temporal_workflow_task_execution_failed\{[^}]*\bworkflow_type="noSuchWorkflow"[^}]*\} [1-9]/.test(line));
      return failed ? true : undefined;
    });
  } finally {
    await failing.terminate('test over');
  }
});
