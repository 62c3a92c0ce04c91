import { lastCompletedBackup, type InstanceEvent, type InstanceState } from '../../domain/index.js';

// The one statement that writes a projected batch. Its text never changes (empty arrays insert
// nothing), so each pooled connection parses and plans it once as a named prepared statement.
// Every write hangs on the instance row's conditional upsert: when another writer moved the row
// since it was read, nothing is written and `written` is false.

export interface OperationRow {
  operationId: string; type: string; status: string; actor: string; step: string | null;
  startedAt: string; finishedAt: string | null; error: unknown;
}

export interface BackupRow {
  name: string; purpose: string; status: string; requestId: string; requestedAt: string; completedAt: string | null;
  sizeBytes: number | null; compressedBytes: number | null; postgresVersion: string | null; error: string | null; deletedAt: string | null;
}

export interface MaintenanceRunRow {
  runId: string; trigger: string; status: string; openedAt: string; windowEndsAt: string;
  startedAt: string | null; finishedAt: string | null; outcome: string | null;
}

export interface BackupDeletion {
  name: string;
  at: string;
}

/** The rows a batch touched, each as it stands after the batch. */
export interface ProjectionRows {
  operations: OperationRow[];
  backups: BackupRow[];
  maintenanceRuns: MaintenanceRunRow[];
  deletedBackups: BackupDeletion[];
}

export interface ProjectionWrite {
  workflowId: string;
  state: InstanceState;
  /** The row's last_seq when it was read; null when there was no row. */
  expectedLastSeq: number | null;
  events: InstanceEvent[];
  rows: ProjectionRows;
  topics: string[];
}

type Column<T> = readonly [name: string, type: string, value: (source: T) => unknown];

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));

const instanceColumns: Column<ProjectionWrite>[] = [
  ['instance_id', 'text', (w) => w.state.instanceId],
  ['tenant', 'text', (w) => w.state.tenant],
  ['name', 'text', (w) => w.state.name],
  ['workflow_id', 'text', (w) => w.workflowId],
  ['phase', 'text', (w) => w.state.phase],
  ['version', 'text', (w) => w.state.version],
  ['size', 'text', (w) => w.state.size],
  ['pending_restart', 'boolean', (w) => w.state.pendingRestart],
  ['maintenance_window', 'jsonb', (w) => JSON.stringify(w.state.spec.maintenanceWindow)],
  ['running_operation', 'jsonb', (w) => json(w.state.runningOperation)],
  ['last_operation', 'jsonb', (w) => json(w.state.lastOperation)],
  ['last_backup_at', 'timestamptz', (w) => lastCompletedBackup(w.state)?.completedAt ?? null],
  ['state', 'jsonb', (w) => JSON.stringify(w.state)],
  ['last_seq', 'int', (w) => w.state.lastSeq],
  ['created_at', 'timestamptz', (w) => w.state.createdAt],
  ['updated_at', 'timestamptz', (w) => w.state.updatedAt],
];
/** Set on every write; the rest is fixed when the row is first written. */
const instanceUpdated = ['phase', 'version', 'size', 'pending_restart', 'maintenance_window', 'running_operation', 'last_operation', 'last_backup_at', 'state', 'last_seq', 'updated_at'];

const eventColumns: Column<InstanceEvent>[] = [
  ['seq', 'int', (e) => e.seq],
  ['type', 'text', (e) => e.type],
  ['at', 'timestamptz', (e) => e.at],
  ['actor', 'text', (e) => e.actor],
  ['request_id', 'text', (e) => e.requestId],
  ['reason', 'text', (e) => e.reason ?? null],
  ['data', 'jsonb', (e) => JSON.stringify(e.data)],
];

const operationColumns: Column<OperationRow>[] = [
  ['operation_id', 'text', (o) => o.operationId],
  ['type', 'text', (o) => o.type],
  ['status', 'text', (o) => o.status],
  ['actor', 'text', (o) => o.actor],
  ['step', 'text', (o) => o.step],
  ['started_at', 'timestamptz', (o) => o.startedAt],
  ['finished_at', 'timestamptz', (o) => o.finishedAt],
  ['error', 'jsonb', (o) => json(o.error)],
];

const backupColumns: Column<BackupRow>[] = [
  ['name', 'text', (b) => b.name],
  ['purpose', 'text', (b) => b.purpose],
  ['status', 'text', (b) => b.status],
  ['request_id', 'text', (b) => b.requestId],
  ['requested_at', 'timestamptz', (b) => b.requestedAt],
  ['completed_at', 'timestamptz', (b) => b.completedAt],
  ['size_bytes', 'bigint', (b) => b.sizeBytes],
  ['compressed_bytes', 'bigint', (b) => b.compressedBytes],
  ['postgres_version', 'text', (b) => b.postgresVersion],
  ['error', 'text', (b) => b.error],
  ['deleted_at', 'timestamptz', (b) => b.deletedAt],
];

const maintenanceRunColumns: Column<MaintenanceRunRow>[] = [
  ['run_id', 'text', (r) => r.runId],
  ['trigger', 'text', (r) => r.trigger],
  ['status', 'text', (r) => r.status],
  ['opened_at', 'timestamptz', (r) => r.openedAt],
  ['window_ends_at', 'timestamptz', (r) => r.windowEndsAt],
  ['started_at', 'timestamptz', (r) => r.startedAt],
  ['finished_at', 'timestamptz', (r) => r.finishedAt],
  ['outcome', 'text', (r) => r.outcome],
];

const deletionColumns: Column<BackupDeletion>[] = [
  ['name', 'text', (d) => d.name],
  ['at', 'timestamptz', (d) => d.at],
];

/** Whether a webhook subscription of the tenant watches any of the topics. */
const watches = (tenant: string, topics: string) => `EXISTS (SELECT FROM notification_subscriptions WHERE tenant = ${tenant} AND topics && ${topics})`;

/** Numbers the statement's parameters in the order `projectionParameters` produces them. */
class Parameters {
  private count = 0;
  next(type: string): string {
    this.count += 1;
    return `$${this.count}::${type}`;
  }
  arrays(columns: readonly Column<never>[]): string {
    return columns.map(([, type]) => this.next(`${type}[]`)).join(', ');
  }
}

function buildStatement(): string {
  const p = new Parameters();
  const instanceValues = instanceColumns.map(([, type]) => p.next(type));
  const [instanceId, tenant] = instanceValues;
  const expectedLastSeq = p.next('int');
  const names = (columns: readonly Column<never>[]) => columns.map(([name]) => name).join(', ');
  const updates = (columns: string[], keep: Record<string, string> = {}) =>
    columns.map((column) => `${column} = ${keep[column] ?? `excluded.${column}`}`).join(', ');
  const fromArrays = (columns: readonly Column<never>[]) => `SELECT ${instanceId}, r.* FROM unnest(${p.arrays(columns)}) AS r WHERE EXISTS (SELECT FROM instance)`;
  return `WITH instance AS (
  INSERT INTO instances (${names(instanceColumns)}) VALUES (${instanceValues.join(', ')})
  ON CONFLICT (instance_id) DO UPDATE SET ${updates(instanceUpdated)}
  WHERE instances.last_seq IS NOT DISTINCT FROM ${expectedLastSeq}
  RETURNING 1
), events AS (
  INSERT INTO instance_events (instance_id, ${names(eventColumns)}) ${fromArrays(eventColumns)}
  ON CONFLICT DO NOTHING
), operations_written AS (
  INSERT INTO operations (instance_id, ${names(operationColumns)}) ${fromArrays(operationColumns)}
  ON CONFLICT (instance_id, operation_id) DO UPDATE SET ${updates(['status', 'step', 'finished_at', 'error'])}
), backups_written AS (
  INSERT INTO backups (instance_id, ${names(backupColumns)}) ${fromArrays(backupColumns)}
  ON CONFLICT (instance_id, name) DO UPDATE SET ${updates(['status', 'completed_at', 'size_bytes', 'compressed_bytes', 'postgres_version', 'error', 'deleted_at'], { deleted_at: 'COALESCE(excluded.deleted_at, backups.deleted_at)' })}
), maintenance_runs_written AS (
  INSERT INTO maintenance_runs (instance_id, ${names(maintenanceRunColumns)}) ${fromArrays(maintenanceRunColumns)}
  ON CONFLICT (instance_id, run_id) DO UPDATE SET ${updates(['status', 'started_at', 'finished_at', 'outcome'])}
), backups_deleted AS (
  UPDATE backups SET deleted_at = deleted.at FROM unnest(${p.arrays(deletionColumns)}) AS deleted (name, at)
  WHERE backups.instance_id = ${instanceId} AND backups.name = deleted.name AND EXISTS (SELECT FROM instance)
)
SELECT EXISTS (SELECT FROM instance) AS written,
  ${watches(tenant!, p.next('text[]'))} AS watched`;
}

export const PROJECT_EVENTS = { name: 'claimflow-project-events', text: buildStatement() };
export const READ_STATE = { name: 'claimflow-read-instance-state', text: 'SELECT state, last_seq FROM instances WHERE instance_id = $1' };
export const WATCHED = { name: 'claimflow-subscription-watches', text: `SELECT ${watches('$1', '$2::text[]')} AS watched` };

const arraysOf = <T>(columns: readonly Column<T>[], rows: T[]): unknown[] => columns.map(([, , value]) => rows.map(value));

/** The values of PROJECT_EVENTS, in the order its text numbers them. */
export function projectionParameters(write: ProjectionWrite): unknown[] {
  return [
    ...instanceColumns.map(([, , value]) => value(write)),
    write.expectedLastSeq,
    ...arraysOf(eventColumns, write.events),
    ...arraysOf(operationColumns, write.rows.operations),
    ...arraysOf(backupColumns, write.rows.backups),
    ...arraysOf(maintenanceRunColumns, write.rows.maintenanceRuns),
    ...arraysOf(deletionColumns, write.rows.deletedBackups),
    write.topics,
  ];
}
