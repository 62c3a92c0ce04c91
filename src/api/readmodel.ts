import type { Pool } from 'pg';
import type { InstanceEvent, InstanceState, MaintenanceRun, MaintenanceWindow, OperationType, Phase, Size } from '../domain/index.js';
import type { Backup, MaintenanceRunItem, Operation } from './schemas.js';
import { toEvent, type EventRow } from '../activities/readmodel/instance-log.js';

// The API's read side: every GET answers from these queries on the read model (PostgreSQL), never
// from Kubernetes. Rows are written by the projection (src/activities/readmodel/projection.ts).

export interface InstanceRecord {
  instanceId: string;
  workflowId: string;
  state: InstanceState;
}

export interface ListFilter {
  tenant: string;
  phase?: Phase;
  size?: Size;
  version?: string;
  /** Exclusive start: the (name, instance id) of the last item of the previous page. */
  after?: readonly [string, string];
  limit: number;
}

export interface MaintenanceRunFilter {
  /** Only this tenant's instances; undefined: every tenant (platform operators). */
  tenant?: string;
  instance?: string;
  status?: MaintenanceRun['status'];
  /** Exclusive start, newest first: (openedAt, instance id, run id) of the last item of the previous page. */
  before?: readonly [string, string, string];
  limit: number;
}

export interface OperationFilter {
  status?: 'running' | 'succeeded' | 'failed';
  type?: OperationType;
  /** Exclusive start, newest first: (startedAt, operation id) of the last item of the previous page. */
  before?: readonly [string, string];
  limit: number;
}

/** What the next window of a live instance is computed from. */
export interface MaintenanceTarget {
  tenant: string;
  name: string;
  instanceId: string;
  maintenanceWindow: MaintenanceWindow;
  /** When the latest maintenance run opened, if any. */
  lastOpenedAt?: string;
}

interface MaintenanceRunRow {
  tenant: string;
  name: string;
  instance_id: string;
  run_id: string;
  trigger: MaintenanceRun['trigger'];
  status: MaintenanceRun['status'];
  opened_at: Date;
  window_ends_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  outcome: string | null;
}

interface OperationRow {
  operation_id: string;
  type: OperationType;
  status: 'running' | 'succeeded' | 'failed';
  actor: string;
  step: string | null;
  started_at: Date;
  finished_at: Date | null;
  error: { reason: string; message: string } | null;
}

interface BackupRow {
  name: string;
  purpose: Backup['purpose'];
  status: Backup['status'];
  request_id: string;
  requested_at: Date;
  completed_at: Date | null;
  size_bytes: string | null;
  compressed_bytes: string | null;
  postgres_version: string | null;
  error: string | null;
  deleted_at: Date | null;
}

const iso = (value: Date | string): string => (value instanceof Date ? value.toISOString() : new Date(value).toISOString());
const isoOrNull = (value: Date | string | null): string | null => (value === null ? null : iso(value));
const numberOrNull = (value: string | number | null): number | null => (value === null ? null : Number(value));

/** An operation the read model has: it has started. */
type ProjectedOperation = Operation & { startedAt: string };

function toOperation(row: OperationRow): ProjectedOperation {
  return {
    id: row.operation_id,
    type: row.type,
    status: row.status,
    actor: row.actor,
    step: row.step,
    startedAt: iso(row.started_at),
    finishedAt: isoOrNull(row.finished_at),
    error: row.error,
  };
}

export class ReadModel {
  constructor(private readonly pool: Pool) {}

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /**
   * The instance a name means in a tenant: the live one, or else the most recent deleted one (so
   * its history, backups and final operation stay readable after a delete).
   */
  async findInstance(tenant: string, name: string): Promise<InstanceRecord | undefined> {
    const { rows } = await this.pool.query<{ instance_id: string; workflow_id: string; state: InstanceState }>({
      name: 'claimflow-find-instance',
      text: `SELECT instance_id, workflow_id, state FROM instances WHERE tenant = $1 AND name = $2
       ORDER BY (phase <> 'deleted') DESC, created_at DESC, instance_id DESC LIMIT 1`,
      values: [tenant, name],
    });
    const row = rows[0];
    return row ? { instanceId: row.instance_id, workflowId: row.workflow_id, state: row.state } : undefined;
  }

  async listInstances(filter: ListFilter): Promise<InstanceRecord[]> {
    const conditions = ['tenant = $1'];
    const values: unknown[] = [filter.tenant];
    // Which filters a page uses names its prepared statement: a handful of shapes, each parsed
    // once per pooled connection.
    const shape: string[] = [];
    const add = (key: string, sql: (placeholder: string) => string, value: unknown) => {
      values.push(value);
      conditions.push(sql(`$${values.length}`));
      shape.push(key);
    };
    if (filter.phase) add('phase', (p) => `phase = ${p}`, filter.phase);
    else conditions.push(`phase <> 'deleted'`);
    if (filter.size) add('size', (p) => `size = ${p}`, filter.size);
    if (filter.version) add('version', (p) => `version = ${p}`, filter.version);
    if (filter.after) {
      values.push(filter.after[0], filter.after[1]);
      conditions.push(`(name, instance_id) > ($${values.length - 1}, $${values.length})`);
      shape.push('after');
    }
    values.push(filter.limit);
    const { rows } = await this.pool.query<{ instance_id: string; workflow_id: string; state: InstanceState }>({
      name: ['claimflow-list-instances', ...shape].join('-'),
      text: `SELECT instance_id, workflow_id, state FROM instances WHERE ${conditions.join(' AND ')}
       ORDER BY name, instance_id LIMIT $${values.length}`,
      values,
    });
    return rows.map((row) => ({ instanceId: row.instance_id, workflowId: row.workflow_id, state: row.state }));
  }

  async events(instanceId: string, after: number, limit: number): Promise<InstanceEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT seq, type, at, actor, request_id, reason, data FROM instance_events
       WHERE instance_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [instanceId, after, limit],
    );
    return rows.map(toEvent);
  }

  /** Every event up to and including `at`, in order. */
  async eventsUntil(instanceId: string, at: Date): Promise<InstanceEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT seq, type, at, actor, request_id, reason, data FROM instance_events
       WHERE instance_id = $1 AND at <= $2 ORDER BY seq`,
      [instanceId, at],
    );
    return rows.map(toEvent);
  }

  /** The backups that exist; with `deleted`, also those deleted since (their record stays). */
  async backups(instanceId: string, { deleted = false } = {}): Promise<Backup[]> {
    const { rows } = await this.pool.query<BackupRow>(
      `SELECT name, purpose, status, request_id, requested_at, completed_at, size_bytes, compressed_bytes, postgres_version, error, deleted_at
       FROM backups WHERE instance_id = $1 AND ($2 OR deleted_at IS NULL) ORDER BY requested_at, name`,
      [instanceId, deleted],
    );
    return rows.map((row) => ({
      name: row.name,
      purpose: row.purpose,
      status: row.status,
      requestId: row.request_id,
      requestedAt: iso(row.requested_at),
      completedAt: isoOrNull(row.completed_at),
      sizeBytes: numberOrNull(row.size_bytes),
      compressedBytes: numberOrNull(row.compressed_bytes),
      postgresVersion: row.postgres_version,
      error: row.error,
      deletedAt: isoOrNull(row.deleted_at),
    }));
  }

  /** An operation of any instance that had this name in the tenant (newest instance first). */
  async operation(tenant: string, name: string, operationId: string): Promise<Operation | undefined> {
    const { rows } = await this.pool.query<OperationRow>(
      `SELECT o.operation_id, o.type, o.status, o.actor, o.step, o.started_at, o.finished_at, o.error
       FROM operations o JOIN instances i USING (instance_id)
       WHERE i.tenant = $1 AND i.name = $2 AND o.operation_id = $3
       ORDER BY i.created_at DESC LIMIT 1`,
      [tenant, name, operationId],
    );
    const row = rows[0];
    return row ? toOperation(row) : undefined;
  }

  /** An instance's operations, newest first, from after a page's last (startedAt, id). */
  async operations(instanceId: string, filter: OperationFilter): Promise<ProjectedOperation[]> {
    const conditions = ['instance_id = $1'];
    const values: unknown[] = [instanceId];
    const add = (sql: (placeholder: string) => string, value: unknown) => {
      values.push(value);
      conditions.push(sql(`$${values.length}`));
    };
    if (filter.status !== undefined) add((p) => `status = ${p}`, filter.status);
    if (filter.type !== undefined) add((p) => `type = ${p}`, filter.type);
    if (filter.before) {
      values.push(...filter.before);
      conditions.push(`(started_at, operation_id) < ($${values.length - 1}, $${values.length})`);
    }
    values.push(filter.limit);
    const { rows } = await this.pool.query<OperationRow>(
      `SELECT operation_id, type, status, actor, step, started_at, finished_at, error FROM operations
       WHERE ${conditions.join(' AND ')}
       ORDER BY started_at DESC, operation_id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map(toOperation);
  }

  /** The first event a request caused, if it has been projected. */
  async firstEventOf(tenant: string, name: string, requestId: string): Promise<InstanceEvent | undefined> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT e.seq, e.type, e.at, e.actor, e.request_id, e.reason, e.data
       FROM instance_events e JOIN instances i USING (instance_id)
       WHERE i.tenant = $1 AND i.name = $2 AND e.request_id = $3
       ORDER BY i.created_at DESC, e.seq LIMIT 1`,
      [tenant, name, requestId],
    );
    return rows[0] ? toEvent(rows[0]) : undefined;
  }

  /** Maintenance runs, newest first. */
  async maintenanceRuns(filter: MaintenanceRunFilter): Promise<MaintenanceRunItem[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (sql: (placeholder: string) => string, value: unknown) => {
      values.push(value);
      conditions.push(sql(`$${values.length}`));
    };
    if (filter.tenant !== undefined) add((p) => `i.tenant = ${p}`, filter.tenant);
    if (filter.instance !== undefined) add((p) => `i.name = ${p}`, filter.instance);
    if (filter.status !== undefined) add((p) => `r.status = ${p}`, filter.status);
    if (filter.before) {
      values.push(...filter.before);
      conditions.push(`(r.opened_at, r.instance_id, r.run_id) < ($${values.length - 2}, $${values.length - 1}, $${values.length})`);
    }
    values.push(filter.limit);
    const { rows } = await this.pool.query<MaintenanceRunRow>(
      `SELECT i.tenant, i.name, r.instance_id, r.run_id, r.trigger, r.status, r.opened_at, r.window_ends_at, r.started_at, r.finished_at, r.outcome
       FROM maintenance_runs r JOIN instances i USING (instance_id)
       ${conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : ''}
       ORDER BY r.opened_at DESC, r.instance_id DESC, r.run_id DESC LIMIT $${values.length}`,
      values,
    );
    return rows.map((row) => ({
      tenant: row.tenant,
      instance: row.name,
      instanceId: row.instance_id,
      runId: row.run_id,
      trigger: row.trigger,
      status: row.status,
      openedAt: iso(row.opened_at),
      windowEndsAt: iso(row.window_ends_at),
      startedAt: isoOrNull(row.started_at),
      finishedAt: isoOrNull(row.finished_at),
      outcome: row.outcome,
    }));
  }

  /**
   * Live instances that maintenance windows open for (not deleted, not being deleted), with what
   * their next window is computed from. `tenant` undefined: every tenant.
   */
  async maintenanceTargets(filter: { tenant?: string; instance?: string }): Promise<MaintenanceTarget[]> {
    const conditions = [`phase NOT IN ('deleted', 'deprovisioning')`];
    const values: unknown[] = [];
    if (filter.tenant !== undefined) {
      values.push(filter.tenant);
      conditions.push(`tenant = $${values.length}`);
    }
    if (filter.instance !== undefined) {
      values.push(filter.instance);
      conditions.push(`name = $${values.length}`);
    }
    const { rows } = await this.pool.query<{ tenant: string; name: string; instance_id: string; maintenance_window: MaintenanceWindow; last_opened_at: string | null }>(
      `SELECT tenant, name, instance_id, maintenance_window, state->'maintenance'->>'openedAt' AS last_opened_at
       FROM instances WHERE ${conditions.join(' AND ')}`,
      values,
    );
    return rows.map((row) => ({
      tenant: row.tenant,
      name: row.name,
      instanceId: row.instance_id,
      maintenanceWindow: row.maintenance_window,
      ...(row.last_opened_at !== null ? { lastOpenedAt: row.last_opened_at } : {}),
    }));
  }
}
