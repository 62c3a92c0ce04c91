import type { Pool, PoolClient } from 'pg';
import { reduce, topicOf, type InstanceEvent, type InstanceState } from '../../domain/index.js';

// Projects an instance's events into the read model with the domain reducer. Idempotent on
// (instance, seq): a retried activity, a replayed batch or a rebuild skips what is already there,
// and a gap is refused (retried) rather than written out of order.

export interface ProjectionBatch {
  instanceId: string;
  workflowId: string;
  events: InstanceEvent[];
  /** The state carried into a continued run: the starting point when the row does not exist yet. */
  baseState?: InstanceState | null;
}

export class ProjectionGapError extends Error {}

/** Told about each newly projected event once its transaction has committed. */
export type ProjectionObserver = (event: InstanceEvent, after: InstanceState, before: InstanceState | null) => void;

export interface ProjectionResult {
  applied: number;
  lastSeq: number;
  /**
   * Whether a webhook subscription of the tenant watches an event of the batch: the instance starts
   * a delivery workflow only then (absent in results recorded before this field existed).
   */
  watched: boolean;
}

export async function projectEvents(pool: Pool, batch: ProjectionBatch, observe?: ProjectionObserver): Promise<ProjectionResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const row = await client.query<{ state: InstanceState }>('SELECT state FROM instances WHERE instance_id = $1 FOR UPDATE', [batch.instanceId]);
    let state: InstanceState | null = row.rows[0]?.state ?? batch.baseState ?? null;
    const appliedEvents: [InstanceEvent, InstanceState, InstanceState | null][] = [];
    // Rows touched by the batch, keyed so that the state after the last event touching a row wins:
    // one statement per row instead of one per event.
    const upserts = new Map<string, Statement>();
    const deletions: Statement[] = [];
    for (const event of batch.events) {
      if (state && event.seq <= state.lastSeq) continue;
      if (state && event.seq !== state.lastSeq + 1) {
        throw new ProjectionGapError(`instance ${batch.instanceId}: event ${event.seq} arrived but the read model is at ${state.lastSeq}`);
      }
      const before = state;
      state = reduce(state, event);
      for (const statement of [operationRow(state, event), backupRow(state, event), maintenanceRunRow(state, event)]) {
        if (statement) upserts.set(statement.key, statement);
      }
      const deleted = backupDeletion(state, event);
      if (deleted) deletions.push(deleted);
      appliedEvents.push([event, state, before]);
    }
    const applied = appliedEvents.length;
    // A continued run whose earlier runs are gone from Temporal starts from the state it carried.
    if (state && (applied > 0 || row.rows.length === 0)) await writeInstance(client, batch.workflowId, state);
    if (state && applied > 0) await writeEvents(client, state.instanceId, appliedEvents.map(([event]) => event));
    for (const statement of [...upserts.values(), ...deletions]) await client.query(statement.sql, statement.params);
    const watched = state ? await isWatched(client, state.tenant, batch.events) : false;
    await client.query('COMMIT');
    if (observe) for (const [event, after, before] of appliedEvents) observe(event, after, before);
    return { applied, lastSeq: state?.lastSeq ?? 0, watched };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  } finally {
    client.release();
  }
}

async function isWatched(client: PoolClient, tenant: string, events: InstanceEvent[]): Promise<boolean> {
  const topics = [...new Set(events.map((event) => topicOf(event.type)).filter((topic) => topic !== undefined))];
  if (topics.length === 0) return false;
  const { rowCount } = await client.query('SELECT 1 FROM notification_subscriptions WHERE tenant = $1 AND topics && $2::text[] LIMIT 1', [tenant, topics]);
  return (rowCount ?? 0) > 0;
}

interface Statement {
  key: string;
  sql: string;
  params: unknown[];
}

async function writeInstance(client: PoolClient, workflowId: string, state: InstanceState): Promise<void> {
  const lastBackup = state.backups.filter((backup) => backup.status === 'completed').at(-1);
  await client.query(
    `INSERT INTO instances (instance_id, tenant, name, workflow_id, phase, version, size, pending_restart, maintenance_window,
       running_operation, last_operation, last_backup_at, state, last_seq, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)
     ON CONFLICT (instance_id) DO UPDATE SET phase = $5, version = $6, size = $7, pending_restart = $8, maintenance_window = $9,
       running_operation = $10, last_operation = $11, last_backup_at = $12, state = $13, last_seq = $14, updated_at = $16`,
    [
      state.instanceId, state.tenant, state.name, workflowId, state.phase, state.version, state.size, state.pendingRestart,
      JSON.stringify(state.spec.maintenanceWindow), json(state.runningOperation), json(state.lastOperation),
      lastBackup?.completedAt ?? null, JSON.stringify(state), state.lastSeq, state.createdAt, state.updatedAt,
    ],
  );
}

async function writeEvents(client: PoolClient, instanceId: string, events: InstanceEvent[]): Promise<void> {
  await client.query(
    `INSERT INTO instance_events (instance_id, seq, type, at, actor, request_id, reason, data)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::jsonb[])
     ON CONFLICT DO NOTHING`,
    [
      instanceId,
      events.map((event) => event.seq),
      events.map((event) => event.type),
      events.map((event) => event.at),
      events.map((event) => event.actor),
      events.map((event) => event.requestId),
      events.map((event) => event.reason ?? null),
      events.map((event) => JSON.stringify(event.data)),
    ],
  );
}

function operationRow(state: InstanceState, event: InstanceEvent): Statement | null {
  const running = state.runningOperation?.id === event.requestId ? state.runningOperation : null;
  const finished = !running && state.lastOperation?.id === event.requestId ? state.lastOperation : null;
  const operation = running ?? finished;
  if (!operation) return null;
  return {
    key: `operation:${operation.id}`,
    sql: `INSERT INTO operations (instance_id, operation_id, type, status, actor, step, started_at, finished_at, error)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
     ON CONFLICT (instance_id, operation_id) DO UPDATE SET status = $4, step = $6, finished_at = $8, error = $9`,
    params: [
      state.instanceId, operation.id, operation.type, running ? 'running' : finished!.status, operation.actor,
      running?.step ?? null, operation.startedAt, finished?.finishedAt ?? null, json(finished?.error ?? null),
    ],
  };
}

function maintenanceRunRow(state: InstanceState, event: InstanceEvent): Statement | null {
  const run = state.maintenance;
  if (!event.type.startsWith('Maintenance') || !run) return null;
  return {
    key: `maintenance:${run.runId}`,
    sql: `INSERT INTO maintenance_runs (instance_id, run_id, trigger, status, opened_at, window_ends_at, started_at, finished_at, outcome)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)
     ON CONFLICT (instance_id, run_id) DO UPDATE SET status = $4, started_at = $7, finished_at = $8, outcome = $9`,
    params: [state.instanceId, run.runId, run.trigger, run.status, run.openedAt, run.windowEndsAt, run.startedAt ?? null, run.finishedAt ?? null, run.outcome ?? null],
  };
}

function backupDeletion(state: InstanceState, event: InstanceEvent): Statement | null {
  if (event.type !== 'BackupDeleted') return null;
  return {
    key: `deleted:${event.data.backupName}`,
    sql: 'UPDATE backups SET deleted_at = $3 WHERE instance_id = $1 AND name = $2',
    params: [state.instanceId, event.data.backupName, event.at],
  };
}

function backupRow(state: InstanceState, event: InstanceEvent): Statement | null {
  if (event.type === 'BackupDeleted' || !('backupName' in event.data)) return null;
  const name = event.data.backupName;
  const backup = state.backups.find((candidate) => candidate.name === name);
  if (!backup) return null;
  return {
    key: `backup:${name}`,
    sql: `INSERT INTO backups (instance_id, name, purpose, status, request_id, requested_at, completed_at, size_bytes, compressed_bytes, postgres_version, error)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)
     ON CONFLICT (instance_id, name) DO UPDATE SET status = $4, completed_at = $7, size_bytes = $8, compressed_bytes = $9,
       postgres_version = $10, error = $11`,
    params: [
      state.instanceId, backup.name, backup.purpose, backup.status, backup.requestId, backup.requestedAt, backup.completedAt ?? null,
      backup.sizeBytes ?? null, backup.compressedBytes ?? null, backup.postgresVersion ?? null, backup.error ?? null,
    ],
  };
}

const json = (value: unknown): string | null => (value === null || value === undefined ? null : JSON.stringify(value));
