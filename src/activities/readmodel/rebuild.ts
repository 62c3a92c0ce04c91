import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { Pool } from 'pg';
import type { InstanceEvent } from '../../domain/index.js';
import { INSTANCE_WORKFLOW_TYPE, type InstanceWorkflowInput } from '../../workflows/messages.js';
import { projectEvents, type ProjectionBatch } from './projection.js';

// Rebuilds the read model from Temporal, the source of truth: each run's input (with the state a
// continued run carried) and the events it handed to the projection (an activity's input, or a
// local activity's result). Idempotent, so it fills what is missing and never drops events of
// runs Temporal no longer keeps.

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

interface InstanceHistory {
  workflowId: string;
  /** The earliest run still in Temporal; its carried state is where the fold starts. */
  first: { startTime: number; input: InstanceWorkflowInput };
  events: Map<number, InstanceEvent>;
}

/** The SDK's marker for a completed local activity. */
export const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

const decode = <T>(payload: unknown): T => defaultPayloadConverter.fromPayload(payload as never);

export interface RebuildResult {
  instances: number;
  events: number;
  applied: number;
}

export async function rebuildReadModel(options: { client: Client; pool: Pool; query?: string; log?: (line: string) => void }): Promise<RebuildResult> {
  const query = [`WorkflowType = '${INSTANCE_WORKFLOW_TYPE}'`, options.query].filter(Boolean).join(' AND ');
  const instances = new Map<string, InstanceHistory>();
  for await (const execution of options.client.workflow.list({ query })) {
    const history = await options.client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    collect(instances, execution.workflowId, execution.startTime.getTime(), history.events ?? []);
  }
  let applied = 0;
  let events = 0;
  for (const [instanceId, instance] of instances) {
    const ordered = [...instance.events.values()].sort((a, b) => a.seq - b.seq);
    events += ordered.length;
    const batch: ProjectionBatch = { instanceId, workflowId: instance.workflowId, events: ordered, baseState: instance.first.input.carried?.state ?? null };
    const result = await projectEvents(options.pool, batch);
    applied += result.applied;
    options.log?.(`${instance.workflowId} (${instanceId}): ${ordered.length} events in history, ${result.applied} written`);
  }
  return { instances: instances.size, events, applied };
}

function collect(instances: Map<string, InstanceHistory>, workflowId: string, startTime: number, history: HistoryEvent[]): void {
  const started = history[0]?.workflowExecutionStartedEventAttributes;
  const payload = started?.input?.payloads?.[0];
  if (!payload) return;
  const input = decode<InstanceWorkflowInput>(payload);
  const instance = instances.get(input.instanceId) ?? { workflowId, first: { startTime, input }, events: new Map<number, InstanceEvent>() };
  if (startTime < instance.first.startTime) instance.first = { startTime, input };
  for (const event of history) {
    for (const projected of projectedBy(event)) instance.events.set(projected.seq, projected);
  }
  instances.set(input.instanceId, instance);
}

/** Events a history event handed to the read model: a projectEvents activity's input, or a local projection's result. */
function projectedBy(event: HistoryEvent): InstanceEvent[] {
  const scheduled = event.activityTaskScheduledEventAttributes;
  if (scheduled?.activityType?.name === 'projectEvents' && scheduled.input?.payloads?.[0]) return decode<ProjectionBatch>(scheduled.input.payloads[0]).events;
  const result = event.markerRecordedEventAttributes?.details?.result?.payloads?.[0];
  if (!result || localActivityType(event) !== 'projectEventsLocally') return [];
  return decode<{ events?: InstanceEvent[] }>(result).events ?? [];
}

/** The type of the local activity a history event records (from its marker's data); undefined for other events. */
export function localActivityType(event: HistoryEvent): string | undefined {
  const marker = event.markerRecordedEventAttributes;
  const data = marker?.markerName === LOCAL_ACTIVITY_MARKER ? marker.details?.data?.payloads?.[0] : undefined;
  return data ? decode<{ activity_type?: string }>(data).activity_type : undefined;
}
