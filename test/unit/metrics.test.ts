import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reduce, type InstanceEvent, type InstanceState, type NewEvent } from '../../src/domain/index.js';
import { createMetrics, observeProjected } from '../../src/observability/metrics.js';
import { sample } from '../support/prometheus.js';
import { stamp, storySpec } from './support/stories.js';

/** Projects the events one by one, as the worker observes them once each is committed. */
async function exportedAfter(events: InstanceEvent[]): Promise<string> {
  const metrics = createMetrics();
  let state: InstanceState | null = null;
  for (const event of events) {
    const before = state;
    state = reduce(state, event);
    observeProjected(metrics, event, state, before);
  }
  return metrics.registry.metrics();
}

const by = { actor: 'schedule', requestId: 'run-1' };
const provisioned: NewEvent[] = [
  { type: 'InstanceRequested', actor: 'tester', requestId: 'req-0', data: { instanceId: 'abcd1234', tenant: 'acme', spec: storySpec } },
  { type: 'ClaimApplied', actor: 'tester', requestId: 'req-0', data: { namespace: 'tenant-acme', claimName: 'orders', size: 'small', version: '15.10' } },
  { type: 'InstanceReady', actor: 'tester', requestId: 'req-0', data: { version: '15.10', connection: { host: 'h', port: 5432, database: 'postgres', user: 'postgres', secretName: 's' } } },
];
const opened = (requestId: string): NewEvent => ({ type: 'MaintenanceWindowOpened', actor: 'schedule', requestId, data: { runId: requestId, trigger: 'schedule', windowEndsAt: '2026-01-02T00:00:00.000Z' } });

test('each maintenance run is counted once, by how it ended; one taken over mid-way counts as failed', async () => {
  const text = await exportedAfter(stamp([
    ...provisioned,
    opened('run-1'),
    { type: 'MaintenanceSkipped', ...by, data: { runId: 'run-1', cause: 'the window closed while restart was running' } },
    opened('run-2'),
    { type: 'MaintenanceStarted', actor: 'schedule', requestId: 'run-2', data: { runId: 'run-2', plan: 'backup, then security upgrade' } },
    { type: 'MaintenanceFailed', actor: 'schedule', requestId: 'run-2', data: { runId: 'run-2', step: 'backup', message: 'the backup failed' } },
    // events after a run ended do not count it again
    { type: 'SettingsChanged', actor: 'tester', requestId: 'req-9', data: { deletionProtection: true } },
    opened('run-3'),
    { type: 'InstanceAdopted', actor: 'platform:ops', requestId: 'adoption', data: { message: 'history gone' } },
  ]));
  assert.equal(sample(text, 'claimflow_maintenance_runs_total{status="skipped"}'), 1);
  assert.equal(sample(text, 'claimflow_maintenance_runs_total{status="failed"}'), 2);
  assert.equal(sample(text, 'claimflow_maintenance_runs_total{status="completed"}'), 0);
  assert.equal(sample(text, 'claimflow_operations_total{type="maintenance",result="failed"}'), 1, 'the run that started was an operation; the waiting one was not');
});
