import type { Pool } from 'pg';

/** An instance the read model says has a backup policy, so a backup Schedule of its own. */
export interface InstanceWithBackupPolicy {
  workflowId: string;
  tenant: string;
  name: string;
}

/**
 * The ready instances with a backup policy, for the Schedule keeper to check each has its
 * Schedule. The read model may lag the instance by a projection: the instance has the last word.
 */
export async function instancesWithBackupPolicy(pool: Pool): Promise<InstanceWithBackupPolicy[]> {
  const { rows } = await pool.query<InstanceWithBackupPolicy>(
    `SELECT workflow_id AS "workflowId", tenant, name FROM instances
      WHERE phase = 'ready' AND jsonb_typeof(state->'spec'->'backup') = 'object'
      ORDER BY tenant, name`,
  );
  return rows;
}
