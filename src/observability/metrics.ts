import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { OPERATION_TYPES, type FinishedOperation, type InstanceEvent, type InstanceState, type MaintenanceRun } from '../domain/index.js';
import type { ScheduleKeeperResult } from '../workflows/messages.js';

// Prometheus metrics of claimflow's own. The worker observes operations and the projection as
// events reach the read model; the API observes requests. Each process has its own registry.

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const OPERATION_BUCKETS = [0.5, 1, 5, 15, 30, 60, 300, 900, 1800, 3600, 7200];

const OPERATION_RESULTS: FinishedOperation['status'][] = ['succeeded', 'failed'];
const RESTORED_SCHEDULE_KINDS = ['window', 'backup'] as const;
const MAINTENANCE_RUN_ENDS: MaintenanceRun['status'][] = ['completed', 'failed', 'skipped'];

export function createMetrics(registry: Registry = new Registry()) {
  collectDefaultMetrics({ register: registry });
  const metrics = {
    registry,
    operations: new Counter({ name: 'claimflow_operations_total', help: 'Finished operations by type and result', labelNames: ['type', 'result'], registers: [registry] }),
    operationDuration: new Histogram({ name: 'claimflow_operation_duration_seconds', help: 'Duration of finished operations, from request to result', labelNames: ['type', 'result'], buckets: OPERATION_BUCKETS, registers: [registry] }),
    eventsProjected: new Counter({ name: 'claimflow_events_projected_total', help: 'Events written to the read model', labelNames: ['type'], registers: [registry] }),
    projectionLag: new Histogram({ name: 'claimflow_projection_lag_seconds', help: 'From an event being recorded by its workflow to its row in the read model', buckets: LATENCY_BUCKETS, registers: [registry] }),
    readyToReadModel: new Histogram({ name: 'claimflow_claim_ready_to_read_model_seconds', help: 'From the claim seen Ready to the instance Ready in the read model', buckets: LATENCY_BUCKETS, registers: [registry] }),
    maintenanceRuns: new Counter({ name: 'claimflow_maintenance_runs_total', help: "Instances' maintenance runs by how they ended (completed, failed, skipped: the window closed first)", labelNames: ['status'], registers: [registry] }),
    schedulesRestored: new Counter({ name: 'claimflow_schedules_restored_total', help: 'Schedules deleted by hand that the Schedule keeper had made again, by kind (window, backup)', labelNames: ['kind'], registers: [registry] }),
    unmanagedInstancesFound: new Counter({ name: 'claimflow_unmanaged_instances_found_total', help: "Instances not deleted whose workflow had ended outside claimflow, counted at each of the Schedule keeper's runs that found them", registers: [registry] }),
    fleetSlotsReleased: new Counter({ name: 'claimflow_fleet_slots_released_total', help: "Fleet maintenance slots still counted for a workflow that no longer ran, handed back by the Schedule keeper's runs", registers: [registry] }),
    apiRequests: new Histogram({ name: 'claimflow_api_request_duration_seconds', help: 'API request durations', labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    apiServerErrors: new Counter({ name: 'claimflow_api_server_errors_total', help: 'Requests the API answered with a 5xx (their route and status are in claimflow_api_request_duration_seconds)', registers: [registry] }),
  };
  // A labelled series is born at its first increment, and Prometheus's increase() and rate() see
  // no rise in a series whose first sample is already 1: the first failure of each type after a
  // start would never alert. Every series an alert counts therefore starts at 0.
  for (const type of OPERATION_TYPES) for (const result of OPERATION_RESULTS) metrics.operations.inc({ type, result }, 0);
  for (const kind of RESTORED_SCHEDULE_KINDS) metrics.schedulesRestored.inc({ kind }, 0);
  for (const status of MAINTENANCE_RUN_ENDS) metrics.maintenanceRuns.inc({ status }, 0);
  return metrics;
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What a run of the Schedule keeper made again, and the instances it found unmanaged: worth an alert, someone did it by hand. */
export function observeKeeperRun(metrics: Metrics, result: Pick<ScheduleKeeperResult, 'restored' | 'restoredBackups' | 'unmanagedCount' | 'slotsReleased'>): void {
  if (result.restored.length > 0) metrics.schedulesRestored.inc({ kind: 'window' }, result.restored.length);
  if (result.restoredBackups.length > 0) metrics.schedulesRestored.inc({ kind: 'backup' }, result.restoredBackups.length);
  if (result.unmanagedCount > 0) metrics.unmanagedInstancesFound.inc(result.unmanagedCount);
  if (result.slotsReleased.length > 0) metrics.fleetSlotsReleased.inc(result.slotsReleased.length);
}

/** What the read model saw: called once per newly projected event, after its transaction committed. */
export function observeProjected(metrics: Metrics, event: InstanceEvent, state: InstanceState, before: InstanceState | null, now = Date.now()): void {
  metrics.eventsProjected.inc({ type: event.type });
  metrics.projectionLag.observe(Math.max(0, now - Date.parse(event.at)) / 1000);
  if (event.type === 'InstanceReady' && event.data.claimReadyAt) {
    metrics.readyToReadModel.observe(Math.max(0, now - Date.parse(event.data.claimReadyAt)) / 1000);
  }
  // The reducer replaces lastOperation only when an event finishes an operation.
  const finished = state.lastOperation;
  if (finished && finished !== before?.lastOperation) {
    const labels = { type: finished.type, result: finished.status };
    metrics.operations.inc(labels);
    metrics.operationDuration.observe(labels, Math.max(0, Date.parse(finished.finishedAt) - Date.parse(finished.startedAt)) / 1000);
  }
  const run = state.maintenance;
  const was = before?.maintenance;
  if (run?.finishedAt && !(was?.runId === run.runId && was.finishedAt)) metrics.maintenanceRuns.inc({ status: run.status });
}
