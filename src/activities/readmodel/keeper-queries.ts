import type { Pool } from 'pg';

// What the Schedule keeper asks the read model. The read model may lag an instance by a
// projection: the keeper checks with the instance's workflow before it acts on an answer.

/** An instance as the keeper finds it: its workflow, and its name for the log. */
export interface InstanceKey {
  workflowId: string;
  tenant: string;
  name: string;
}

/** The ready instances with a backup policy, so a backup Schedule of their own. */
export async function instancesWithBackupPolicy(pool: Pool): Promise<InstanceKey[]> {
  const { rows } = await pool.query<InstanceKey>(
    `SELECT workflow_id AS "workflowId", tenant, name FROM instances
      WHERE phase = 'ready' AND jsonb_typeof(state->'spec'->'backup') = 'object'
      ORDER BY tenant, name`,
  );
  return rows;
}

/** Every instance not deleted, whose workflow should be running. */
export async function liveInstances(pool: Pool): Promise<InstanceKey[]> {
  const { rows } = await pool.query<InstanceKey>(
    `SELECT workflow_id AS "workflowId", tenant, name FROM instances WHERE phase <> 'deleted' ORDER BY tenant, name`,
  );
  return rows;
}
