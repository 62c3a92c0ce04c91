// Where a run's time goes between its own events: the gaps between consecutive events of each
// scheduled run (workflow times, as recorded in the read model), by transition, so a slow run can
// be told apart from a slow hand-over; and inside its cluster steps, against the stand-in's clock.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type pg from 'pg';
import { localActivityType, type HistoryEvent } from './history.js';
import { SGBACKUP, SGDBOPS } from '../../src/activities/kubernetes/resources.js';
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
 * The two cluster steps of each scheduled run (the backup and the upgrade), split at the times the
 * stand-in cluster writes into the object itself: when it started the work (the SGBackup's
 * `timing.start`, the SGDbOps' `opStarted`) and when it finished (`timing.end`, the time the
 * SGDbOps' Completed condition turned True). Before the start: our workflow task and activity, the
 * create, and the stand-in noticing it. Between: the stand-in's own timer (the delay the bench set)
 * and how late it fired. After the end: the watch's delivery to us, the activity's completion and
 * the workflow task that records it. Workflow times and the stand-in's clock are the same host's.
 */
export async function clusterStepSplit(pool: pg.Pool, clusterTimes: StandInTimes, instanceIds: string[], sinceMs: number) {
  const { rows } = await pool.query<{ kind: 'backup' | 'upgrade'; object: string; asked_ms: number; recorded_ms: number }>(
    `SELECT CASE done.type WHEN 'BackupCompleted' THEN 'backup' ELSE 'upgrade' END AS kind,
            COALESCE(done.data->>'backupName', done.data->>'dbOpsName') AS object,
            (extract(epoch FROM asked.at) * 1000)::float8 AS asked_ms, (extract(epoch FROM done.at) * 1000)::float8 AS recorded_ms
       FROM instance_events done
       JOIN instance_events asked
         ON asked.instance_id = done.instance_id AND asked.request_id = done.request_id
        AND ((asked.type = 'BackupRequested' AND done.type = 'BackupCompleted' AND asked.data->>'backupName' = done.data->>'backupName')
          OR (asked.type = 'UpgradeStarted' AND done.type = 'UpgradeCompleted' AND asked.data->>'dbOpsName' = done.data->>'dbOpsName'))
      WHERE done.instance_id = ANY($1) AND done.at >= to_timestamp($2 / 1000.0) AND done.actor LIKE 'schedule:%'`,
    [instanceIds, sinceMs],
  );
  const split = (kind: 'backup' | 'upgrade') => {
    const legs = rows.flatMap((row) => {
      const times = row.kind === kind ? clusterTimes.get(row.object) : undefined;
      return times ? [{ toClusterStart: times.start - Number(row.asked_ms), clusterWork: times.end - times.start, backToInstance: Number(row.recorded_ms) - times.end }] : [];
    });
    return {
      toClusterStart: summarize(legs.map((leg) => leg.toClusterStart)),
      clusterWork: summarize(legs.map((leg) => leg.clusterWork)),
      backToInstance: summarize(legs.map((leg) => leg.backToInstance)),
    };
  };
  return { backup: split('backup'), upgrade: split('upgrade') };
}

export type StandInTimes = Map<string, { start: number; end: number }>;

/** When the stand-in cluster started and ended the work of each SGBackup and SGDbOps, by name. */
export async function standInTimes(kc: KubeConfig): Promise<StandInTimes> {
  const api = kc.makeApiClient(CustomObjectsApi);
  const times: StandInTimes = new Map();
  const list = async (plural: string, read: (object: StandInObject) => { start?: string | undefined; end?: string | undefined }) => {
    const { items } = (await api.listClusterCustomObject({ group: 'stackgres.io', version: 'v1', plural })) as { items: StandInObject[] };
    for (const object of items) {
      const { start, end } = read(object);
      if (start && end && object.metadata?.name) times.set(object.metadata.name, { start: Date.parse(start), end: Date.parse(end) });
    }
  };
  await list(SGBACKUP.plural, (backup) => ({ start: backup.status?.process?.timing?.start, end: backup.status?.process?.timing?.end }));
  await list(SGDBOPS.plural, (op) => ({
    start: op.status?.opStarted,
    end: op.status?.conditions?.find((condition) => condition.type === 'Completed' && condition.status === 'True')?.lastTransitionTime,
  }));
  return times;
}

/**
 * The stretch before the stand-in starts a step, from the histories of a sample of instances: the
 * workflow task that recorded the step and scheduled its activity (the server hears of the
 * activity only when that task completes, after every local activity it started, the projection
 * among them); the server handing the activity to the worker; the activity's create and the
 * stand-in noticing it.
 */
export async function clusterStepStartLegs(client: Client, clusterTimes: StandInTimes, workflowIds: string[], sinceMs: number) {
  const legs: Record<'workflowTask' | 'projectionInTask' | 'toActivityStart' | 'createToClusterStart', number[]> = { workflowTask: [], projectionInTask: [], toActivityStart: [], createToClusterStart: [] };
  for (const workflowId of workflowIds) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const byId = new Map(events.map((event) => [Number(event.eventId), event]));
    const activityStartedBy = new Map(events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => [Number(e.activityTaskStartedEventAttributes!.scheduledEventId), e]));
    const projectionMarkerBy = new Map(
      events.filter((e) => localActivityType(e) === 'projectEventsLocally').map((e) => [Number(e.markerRecordedEventAttributes?.workflowTaskCompletedEventId), e]),
    );
    for (const event of events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      const type = scheduled?.activityType?.name;
      if (!scheduled || (type !== 'runBackup' && type !== 'runDbOps') || tsToMs(event.eventTime) < sinceMs) continue;
      const input = scheduled.input?.payloads?.[0];
      const name = input ? defaultPayloadConverter.fromPayload<{ name?: string }>(input).name : undefined;
      const completed = byId.get(Number(scheduled.workflowTaskCompletedEventId));
      const taskStarted = byId.get(Number(completed?.workflowTaskCompletedEventAttributes?.startedEventId));
      const activityStarted = activityStartedBy.get(Number(event.eventId));
      const cluster = name ? clusterTimes.get(name) : undefined;
      if (!completed || !taskStarted || !activityStarted || !cluster) continue;
      legs.workflowTask.push(tsToMs(completed.eventTime) - tsToMs(taskStarted.eventTime));
      const projectionDone = projectionCompleteTime(projectionMarkerBy.get(Number(completed.eventId)));
      if (projectionDone !== undefined) legs.projectionInTask.push(projectionDone - tsToMs(taskStarted.eventTime));
      legs.toActivityStart.push(tsToMs(activityStarted.eventTime) - tsToMs(completed.eventTime));
      legs.createToClusterStart.push(cluster.start - tsToMs(activityStarted.eventTime));
    }
  }
  return Object.fromEntries(Object.entries(legs).map(([name, values]) => [name, summarize(values)])) as Record<keyof typeof legs, ReturnType<typeof summarize>>;
}

/**
 * The task's start plus the run time of the projection started in it: the local-activity marker's
 * `complete_time`, as sdk-core writes it (not when it finished: the local activity may have begun
 * after the task started).
 */
function projectionCompleteTime(marker: HistoryEvent | undefined): number | undefined {
  const payload = marker?.markerRecordedEventAttributes?.details?.data?.payloads?.[0];
  const time = payload ? defaultPayloadConverter.fromPayload<{ complete_time?: string | { seconds?: number | string; nanos?: number } }>(payload).complete_time : undefined;
  if (typeof time === 'string') return Date.parse(time);
  if (time?.seconds !== undefined) return Number(time.seconds) * 1000 + (time.nanos ?? 0) / 1e6;
  return undefined;
}

interface StandInObject {
  metadata?: { name?: string };
  status?: {
    process?: { timing?: { start?: string; end?: string } };
    opStarted?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  };
}
