// Where a run's time goes between its own events: the gaps between consecutive events of each
// scheduled run (workflow times, as recorded in the read model), by transition, so a slow run can
// be told apart from a slow hand-over.
import type pg from 'pg';
import { summarize } from './report.js';

export async function stepGaps(pool: pg.Pool, instanceIds: string[], sinceMs: number): Promise<Record<string, ReturnType<typeof summarize>>> {
  const { rows } = await pool.query<{ step: string; gap_ms: number }>(
    `SELECT previous || ' -> ' || type AS step, gap_ms FROM (
       SELECT type,
              lag(type) OVER run AS previous,
              (extract(epoch FROM at - lag(at) OVER run) * 1000)::float8 AS gap_ms
         FROM instance_events
        WHERE instance_id = ANY($1) AND at >= to_timestamp($2 / 1000.0) AND actor LIKE 'schedule:%'
       WINDOW run AS (PARTITION BY instance_id, request_id ORDER BY seq)
     ) gaps WHERE previous IS NOT NULL`,
    [instanceIds, sinceMs],
  );
  const byStep = new Map<string, number[]>();
  for (const row of rows) byStep.set(row.step, [...(byStep.get(row.step) ?? []), Number(row.gap_ms)]);
  return Object.fromEntries([...byStep].map(([step, gaps]) => [step, summarize(gaps)]));
}

/**
 * A backup step of each scheduled run split where the cluster said it was done (the SGBackup's
 * `timing.end`, which BackupCompleted carries as completedAt): before it, our activity's create and
 * the stand-in's own work and delay; after it, the watch's delivery, the activity's completion and
 * the workflow task that records BackupCompleted, all ours and Temporal's.
 */
export async function backupStepSplit(pool: pg.Pool, instanceIds: string[], sinceMs: number) {
  const { rows } = await pool.query<{ to_cluster_done_ms: number; back_to_instance_ms: number }>(
    `SELECT (extract(epoch FROM (done.data->>'completedAt')::timestamptz - asked.at) * 1000)::float8 AS to_cluster_done_ms,
            (extract(epoch FROM done.at - (done.data->>'completedAt')::timestamptz) * 1000)::float8 AS back_to_instance_ms
       FROM instance_events done
       JOIN instance_events asked
         ON asked.instance_id = done.instance_id AND asked.request_id = done.request_id
        AND asked.type = 'BackupRequested' AND asked.data->>'backupName' = done.data->>'backupName'
      WHERE done.type = 'BackupCompleted' AND done.instance_id = ANY($1) AND done.at >= to_timestamp($2 / 1000.0)
        AND done.actor LIKE 'schedule:%'`,
    [instanceIds, sinceMs],
  );
  return {
    toClusterDone: summarize(rows.map((row) => Number(row.to_cluster_done_ms))),
    backToInstance: summarize(rows.map((row) => Number(row.back_to_instance_ms))),
  };
}
