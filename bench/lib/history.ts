// What a workflow history says about the work it did, for the benches' ceilings and breakdowns.
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

/** A local activity's type, from its marker's data (the SDK's JSON); undefined for other events. */
export function localActivityType(event: HistoryEvent): string | undefined {
  if (!isLocalActivityMarker(event)) return undefined;
  const payload = event.markerRecordedEventAttributes?.details?.data?.payloads?.[0]?.data;
  if (!payload) return undefined;
  return (JSON.parse(Buffer.from(payload).toString('utf8')) as { activity_type?: string }).activity_type;
}
