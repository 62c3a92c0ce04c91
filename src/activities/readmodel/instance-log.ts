import type { Pool } from 'pg';
import type { InstanceEvent } from '../../domain/index.js';

// An instance's event log as the read model keeps it: every event ever projected, across runs
// Temporal no longer keeps. The API pages through it; taking an instance over folds all of it.

export interface EventRow {
  seq: number;
  type: InstanceEvent['type'];
  at: Date;
  actor: string;
  request_id: string;
  reason: string | null;
  data: unknown;
}

export function toEvent(row: EventRow): InstanceEvent {
  return {
    seq: row.seq,
    type: row.type,
    at: row.at.toISOString(),
    actor: row.actor,
    requestId: row.request_id,
    ...(row.reason !== null ? { reason: row.reason } : {}),
    data: row.data,
  } as InstanceEvent;
}

export interface InstanceLog {
  instanceId: string;
  workflowId: string;
  events: InstanceEvent[];
}

/** The log of the tenant's instance of that name that is not deleted; undefined when there is none. */
export async function liveInstanceLog(pool: Pool, tenant: string, name: string): Promise<InstanceLog | undefined> {
  const { rows: instances } = await pool.query<{ instance_id: string; workflow_id: string }>(
    `SELECT instance_id, workflow_id FROM instances WHERE tenant = $1 AND name = $2 AND phase <> 'deleted'`,
    [tenant, name],
  );
  const instance = instances[0];
  if (!instance) return undefined;
  const { rows } = await pool.query<EventRow>(
    'SELECT seq, type, at, actor, request_id, reason, data FROM instance_events WHERE instance_id = $1 ORDER BY seq',
    [instance.instance_id],
  );
  return { instanceId: instance.instance_id, workflowId: instance.workflow_id, events: rows.map(toEvent) };
}
