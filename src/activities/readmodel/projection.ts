import type { Pool } from 'pg';
import { reduce, topicOf, type InstanceEvent, type InstanceState } from '../../domain/index.js';
import {
  PROJECT_EVENTS, READ_STATE, WATCHED, projectionParameters,
  type BackupRow, type MaintenanceRunRow, type OperationRow, type ProjectionRows,
} from './projection-statement.js';

// Projects an instance's events into the read model with the domain reducer. Idempotent on
// (instance, seq): a retried activity, a replayed batch or a rebuild skips what is already there,
// and a gap is refused (retried) rather than written out of order.
//
// Two round trips: read the row's state, then one statement writes everything the batch changed,
// on the condition that the row is still at the state that was read. A concurrent writer (a
// rebuild next to the live projection) makes the condition fail and the batch is folded again on
// what it wrote. A transaction with a row lock took six to nine round trips (BENCHMARKS.md).

export interface ProjectionBatch {
  instanceId: string;
  workflowId: string;
  events: InstanceEvent[];
  /** The state carried into a continued run: the starting point when the row does not exist yet. */
  baseState?: InstanceState | null;
}

export class ProjectionGapError extends Error {}

/** Told about each newly projected event once it is committed. */
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

/** Other writers are rare (a rebuild); losing to one this often means something is wrong. */
const MAX_ATTEMPTS = 5;

export async function projectEvents(pool: Pool, batch: ProjectionBatch, observe?: ProjectionObserver): Promise<ProjectionResult> {
  const topics = topicsOf(batch.events);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const { rows } = await pool.query<{ state: InstanceState; last_seq: number }>({ ...READ_STATE, values: [batch.instanceId] });
    const stored = rows[0];
    const fold = foldBatch(batch, stored?.state ?? batch.baseState ?? null);
    if (!fold.state) return { applied: 0, lastSeq: 0, watched: false };
    if (stored && fold.applied.length === 0) return { applied: 0, lastSeq: fold.state.lastSeq, watched: await isWatched(pool, fold.state.tenant, topics) };

    const values = projectionParameters({
      workflowId: batch.workflowId, state: fold.state, expectedLastSeq: stored?.last_seq ?? null,
      events: fold.applied.map(([event]) => event), rows: fold.rows, topics,
    });
    const outcome = await writeIfUnchanged(pool, values, !stored && attempt < MAX_ATTEMPTS);
    if (!outcome.written) continue;
    if (observe) for (const [event, after, before] of fold.applied) observe(event, after, before);
    return { applied: fold.applied.length, lastSeq: fold.state.lastSeq, watched: outcome.watched };
  }
  throw new Error(`instance ${batch.instanceId}: the read model row kept changing under the projection (${MAX_ATTEMPTS} attempts)`);
}

/** Writes the batch; `written` is false when another writer got there first. */
async function writeIfUnchanged(pool: Pool, values: unknown[], mayHaveLostFirstWrite: boolean): Promise<{ written: boolean; watched: boolean }> {
  try {
    const { rows } = await pool.query<{ written: boolean; watched: boolean }>({ ...PROJECT_EVENTS, values });
    return rows[0]!;
  } catch (error) {
    // Two first writes of one instance: the loser may trip over the winner's row in the (tenant,
    // name) index before the conflict on instance_id is seen. Read again; the last attempt throws.
    if (mayHaveLostFirstWrite && (error as { code?: string }).code === UNIQUE_VIOLATION) return { written: false, watched: false };
    throw error;
  }
}

const UNIQUE_VIOLATION = '23505';

interface Fold {
  state: InstanceState | null;
  applied: [InstanceEvent, InstanceState, InstanceState | null][];
  rows: ProjectionRows;
}

/** Folds the events the row has not seen yet and collects the rows they touch. */
function foldBatch(batch: ProjectionBatch, from: InstanceState | null): Fold {
  let state = from;
  const applied: Fold['applied'] = [];
  // Keyed so that the state after the last event touching a row wins: one row each.
  const operations = new Map<string, OperationRow>();
  const backups = new Map<string, BackupRow>();
  const maintenanceRuns = new Map<string, MaintenanceRunRow>();
  const deletedBackups = new Map<string, string>();
  for (const event of batch.events) {
    if (state && event.seq <= state.lastSeq) continue;
    if (state && event.seq !== state.lastSeq + 1) {
      throw new ProjectionGapError(`instance ${batch.instanceId}: event ${event.seq} arrived but the read model is at ${state.lastSeq}`);
    }
    const before = state;
    state = reduce(state, event);
    for (const operation of operationRows(state, event, before)) operations.set(operation.operationId, operation);
    if (event.type === 'BackupDeleted') deletedBackups.set(event.data.backupName, event.at);
    else for (const backup of backupRows(state, before)) backups.set(backup.name, backup);
    const run = maintenanceRunRow(state, before);
    if (run) maintenanceRuns.set(run.runId, run);
    applied.push([event, state, before]);
  }
  // A backup written and deleted in one batch (a rebuild) is one row: one statement may not touch
  // a row twice.
  for (const [name, at] of deletedBackups) {
    const backup = backups.get(name);
    if (backup) {
      backup.deletedAt = at;
      deletedBackups.delete(name);
    }
  }
  return {
    state,
    applied,
    rows: {
      operations: [...operations.values()],
      backups: [...backups.values()],
      maintenanceRuns: [...maintenanceRuns.values()],
      deletedBackups: [...deletedBackups].map(([name, at]) => ({ name, at })),
    },
  };
}

function topicsOf(events: InstanceEvent[]): string[] {
  return [...new Set(events.map((event) => topicOf(event.type)).filter((topic) => topic !== undefined))];
}

async function isWatched(pool: Pool, tenant: string, topics: string[]): Promise<boolean> {
  if (topics.length === 0) return false;
  const { rows } = await pool.query<{ watched: boolean }>({ ...WATCHED, values: [tenant, topics] });
  return rows[0]?.watched ?? false;
}

// The reducer replaces only what an event changes and keeps the rest by reference, so a row is
// written for each operation, backup and maintenance run whose object is new.

/** The event's own operation, and one of another request that the event ended (an adoption abandons it). */
function operationRows(state: InstanceState, event: InstanceEvent, before: InstanceState | null): OperationRow[] {
  const own = operationRow(state, event.requestId);
  const wasRunning = before?.runningOperation?.id;
  if (wasRunning === undefined || wasRunning === event.requestId || state.runningOperation?.id === wasRunning) return own ? [own] : [];
  const ended = operationRow(state, wasRunning);
  return [own, ended].filter((row) => row !== null);
}

function operationRow(state: InstanceState, id: string): OperationRow | null {
  const running = state.runningOperation?.id === id ? state.runningOperation : null;
  const finished = !running && state.lastOperation?.id === id ? state.lastOperation : null;
  const operation = running ?? finished;
  if (!operation) return null;
  return {
    operationId: operation.id, type: operation.type, status: running ? 'running' : finished!.status, actor: operation.actor,
    step: running?.step ?? null, startedAt: operation.startedAt, finishedAt: finished?.finishedAt ?? null, error: finished?.error ?? null,
  };
}

function maintenanceRunRow(state: InstanceState, before: InstanceState | null): MaintenanceRunRow | null {
  const run = state.maintenance;
  if (!run || run === before?.maintenance) return null;
  return {
    runId: run.runId, trigger: run.trigger, status: run.status, openedAt: run.openedAt, windowEndsAt: run.windowEndsAt,
    startedAt: run.startedAt ?? null, finishedAt: run.finishedAt ?? null, outcome: run.outcome ?? null,
  };
}

function backupRows(state: InstanceState, before: InstanceState | null): BackupRow[] {
  if (state.backups === before?.backups) return [];
  const unchanged = new Set(before?.backups);
  return state.backups
    .filter((backup) => !unchanged.has(backup))
    .map((backup) => ({
      name: backup.name, purpose: backup.purpose, status: backup.status, requestId: backup.requestId, requestedAt: backup.requestedAt,
      completedAt: backup.completedAt ?? null, sizeBytes: backup.sizeBytes ?? null, compressedBytes: backup.compressedBytes ?? null,
      postgresVersion: backup.postgresVersion ?? null, error: backup.error ?? null, deletedAt: null,
    }));
}
