import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time.js';
import type { HistoryEvent } from './history.js';
import { summarize } from './report.js';

// Where a fleet slot's hand-over spends its time, read from the coordinator's histories (every
// run of its continue-as-new chain) and the instances' maintenance times: from a run's end to the
// next run's start, leg by leg.

type Payloads = NonNullable<HistoryEvent['workflowExecutionSignaledEventAttributes']>['input'];

export interface SlotHolder {
  startedMs: number;
  finishedMs: number;
}

/** The `requesters` of a signal's or an activity's first argument. */
function requestersOf(payloads: Payloads): string[] {
  const first = payloads?.payloads?.[0];
  if (!first) return [];
  return defaultPayloadConverter.fromPayload<{ requesters?: string[] }>(first).requesters ?? [];
}

interface Grant {
  releasedAt: number | undefined;
  releasedBy: string[];
  scheduledAt: number;
  startedAt?: number;
  requesters: string[];
}

/** The grants the coordinator made, each with the release signal it answered (if it answered one). */
function grantsIn(events: HistoryEvent[]): Grant[] {
  const grants = new Map<number, Grant>();
  let lastRelease: { at: number; requesters: string[] } | undefined;
  for (const event of events) {
    const signaled = event.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName === 'releaseSlots') lastRelease = { at: tsToMs(event.eventTime), requesters: requestersOf(signaled.input) };
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled?.activityType?.name === 'grantMaintenanceSlots') {
      grants.set(Number(event.eventId), { releasedAt: lastRelease?.at, releasedBy: lastRelease?.requesters ?? [], scheduledAt: tsToMs(event.eventTime), requesters: requestersOf(scheduled.input) });
      lastRelease = undefined;
    }
    const started = event.activityTaskStartedEventAttributes;
    const grant = started && grants.get(Number(started.scheduledEventId));
    if (grant) grant.startedAt = tsToMs(event.eventTime);
  }
  return [...grants.values()];
}

/**
 * Per leg, in ms over the grants that answered a release: the release reaching the coordinator
 * (run end -> releaseSlots signal), the coordinator's workflow task (signal -> grant scheduled),
 * the grant activity's pickup (scheduled -> started) and the grant reaching the instance (activity
 * started -> the next run's MaintenanceStarted).
 */
export async function handOverLegs(client: Client, fleetWorkflowId: string, holders: Map<string, SlotHolder>) {
  const grants: Grant[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowId = '${fleetWorkflowId}'` })) {
    const history = await client.workflow.getHandle(fleetWorkflowId, run.runId).fetchHistory();
    grants.push(...grantsIn(history.events ?? []));
  }
  const legs = { release: [] as number[], coordinator: [] as number[], grantPickup: [] as number[], toInstance: [] as number[] };
  for (const grant of grants) {
    const ends = grant.releasedBy.map((id) => holders.get(id)?.finishedMs).filter((t): t is number => t !== undefined);
    if (grant.releasedAt === undefined || ends.length === 0 || grant.startedAt === undefined) continue;
    legs.release.push(grant.releasedAt - Math.max(...ends));
    legs.coordinator.push(grant.scheduledAt - grant.releasedAt);
    legs.grantPickup.push(grant.startedAt - grant.scheduledAt);
    for (const id of grant.requesters) {
      const started = holders.get(id)?.startedMs;
      if (started !== undefined) legs.toInstance.push(started - grant.startedAt);
    }
  }
  return {
    grants: grants.length,
    answeringARelease: legs.coordinator.length,
    release: summarize(legs.release),
    coordinator: summarize(legs.coordinator),
    grantPickup: summarize(legs.grantPickup),
    toInstance: summarize(legs.toInstance),
  };
}
