// What a workflow history says about the work it did, for the benches' ceilings and breakdowns.
import type { WorkflowHandle } from '@temporalio/client';
import { LOCAL_ACTIVITY_MARKER } from '../../src/activities/readmodel/rebuild.js';

export { localActivityType } from '../../src/activities/readmodel/rebuild.js';

export type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

/** Activities (scheduled on the server) and local activities (markers) among `events`. */
export function activityCounts(events: HistoryEvent[]): { activities: number; localActivities: number; workflowTasks: number } {
  return {
    activities: events.filter((e) => e.activityTaskScheduledEventAttributes).length,
    localActivities: events.filter((e) => e.markerRecordedEventAttributes?.markerName === LOCAL_ACTIVITY_MARKER).length,
    workflowTasks: events.filter((e) => e.workflowTaskCompletedEventAttributes).length,
  };
}
