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
