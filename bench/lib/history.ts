// What a workflow history says about the work it did, for the benches' ceilings and breakdowns.
import { tsToMs } from '@temporalio/common/lib/time.js';
import { LOCAL_ACTIVITY_MARKER } from '../../src/activities/readmodel/rebuild.js';
import type { WorkflowHandle } from '@temporalio/client';

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];


export function isLocalActivityMarker(event: HistoryEvent): boolean {
  return event.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER;
}

/** Activities (scheduled on the server) and local activities (markers) among `events`. */
export function activityCounts(events: HistoryEvent[]): { activities: number; localActivities: number; workflowTasks: number } {
  return {
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: events.filter(isLocalActivityMarker).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}

/** A local activity's type and when it completed, from its marker's data (the SDK's JSON). */
export function localActivityOf(event: HistoryEvent): { activityType: string; completedAt: number } | undefined {
  if (!isLocalActivityMarker(event)) return undefined;
  const payload = event.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
  if (!payload) return undefined;
  const data = JSON.parse(Buffer.from(payload).toString('utf8')) as { activity_type?: string; complete_time?: { seconds?: number; nanos?: number } };
  const complete = data.complete_time;
  return {
    activityType: data.activity_type ?? '?',
    completedAt: complete ? (complete.seconds ?? 0) * 1000 + Math.floor((complete.nanos ?? 0) / 1e6) : tsToMs(event.eventTime),
  };
}
