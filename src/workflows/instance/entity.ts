import { ParentClosePolicy, startChild, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { Mutex } from 'async-mutex';
import { reduce, topicOf, type InstanceEvent, type InstanceState, type NewEvent } from '../../domain/logic.js';
import { notificationWorkflow } from '../notifications/workflow.js';
import { PHASE_ATTRIBUTE, SEEN_REQUEST_IDS_KEPT } from '../messages.js';
import { runsLocalSteps, type Proxies } from './activities.js';
import { instancePatched } from './patches.js';

// Runs recorded before it waited for each projection before taking the next step on the cluster.
const PROJECTION_ALONGSIDE_PATCH = 'projection-alongside-cluster-work';
// Runs recorded before it projected after each step as well, even with no wait before the next.
export const PROJECTION_BEFORE_EACH_STEP_PATCH = 'projection-before-each-step';

/**
 * The instance inside its workflow: records events (stamped, folded by the domain reducer) and
 * projects them to the read model in order. Recording is synchronous, so an update validator that
 * runs right after a handler starts already sees the operation it began.
 */
export class InstanceEntity {
  private pending: InstanceEvent[] = [];
  private readonly projection = new Mutex();
  private projectingAhead: Promise<void>[] = [];
  private readonly seen: string[];

  constructor(
    private current: InstanceState | null,
    seenRequestIds: string[],
    private readonly activities: Proxies,
  ) {
    this.seen = [...seenRequestIds];
  }

  get state(): InstanceState | null {
    return this.current;
  }

  /** The state once the instance exists (after InstanceRequested). */
  get known(): InstanceState {
    if (!this.current) throw new Error('the instance has not been requested yet');
    return this.current;
  }

  get nextSeq(): number {
    return (this.current?.lastSeq ?? 0) + 1;
  }

  record(event: NewEvent): InstanceEvent {
    const stamped = { ...event, seq: this.nextSeq, at: new Date().toISOString() };
    const phaseBefore = this.current?.phase;
    this.current = reduce(this.current, stamped);
    this.pending.push(stamped);
    if (this.current.phase !== phaseBefore && this.phaseAttributeDiffers()) upsertSearchAttributes([{ key: PHASE_ATTRIBUTE, value: this.current.phase }]);
    return stamped;
  }

  /** The API starts the workflow with the phase `provisioning` already set: no upsert repeats it. */
  private phaseAttributeDiffers(): boolean {
    if (!instancePatched('phase-upsert-only-when-it-differs')) return true;
    return workflowInfo().typedSearchAttributes.get(PHASE_ATTRIBUTE) !== this.current?.phase;
  }

  /**
   * Starts projecting what is recorded and lets the operation take its next step meanwhile: the
   * lock keeps the read model in order, and the step's activity and the projection come back in
   * one workflow task instead of two (at fleet scale, workflow tasks are the limit). The handler
   * that ends the operation awaits `flush()`, which waits for these as well.
   */
  async projectAhead(): Promise<void> {
    if (!instancePatched(PROJECTION_ALONGSIDE_PATCH)) return this.flush();
    const projecting = this.projectPending();
    // Not lost: the next flush() awaits it and throws its error.
    projecting.catch(() => undefined);
    this.projectingAhead.push(projecting);
  }

  /**
   * Where a step records events and goes on without waiting on anything outside the workflow.
   * Runs recorded before 'projection-before-each-step' projected here, one local activity per
   * batch; now the next step that waits projects them with its own events, or the handler's
   * flush() does.
   */
  async projectAheadInOlderRuns(): Promise<void> {
    if (!instancePatched(PROJECTION_BEFORE_EACH_STEP_PATCH)) await this.projectAhead();
  }

  /** Sends every recorded event to the read model and waits until all of them are there. */
  async flush(): Promise<void> {
    const ahead = this.projectingAhead.splice(0);
    await this.projectPending();
    await Promise.all(ahead);
  }

  /** One batch at a time, in order. */
  private async projectPending(): Promise<void> {
    await this.projection.runExclusive(async () => {
      while (this.pending.length > 0) {
        const events = this.pending.splice(0);
        const { instanceId, name } = this.known;
        const summary = `project ${events.map((event) => `#${event.seq} ${event.type}`).join(', ')} of ${name}`;
        const batch = { instanceId, workflowId: workflowInfo().workflowId, events };
        const projected = runsLocalSteps()
          ? await this.activities.local.projectEventsLocally.executeWithOptions({ summary }, [batch])
          : await this.activities.quick.projectEvents.executeWithOptions({ summary }, [batch]);
        // Results recorded before `watched` existed leave it out: those runs notified every time.
        if (projected.watched !== false) await this.notify(events);
      }
    });
  }

  /** Hands notable events to a delivery workflow of their own; the instance does not wait for it. */
  private async notify(events: InstanceEvent[]): Promise<void> {
    const notable = events.filter((event) => topicOf(event.type));
    if (notable.length === 0 || !instancePatched('notifications')) return;
    const { instanceId, tenant, name } = this.known;
    await startChild(notificationWorkflow, {
      workflowId: `notify/${instanceId}/${notable[0]!.seq}`,
      args: [{ instance: { tenant, name, instanceId }, events: notable }],
      parentClosePolicy: ParentClosePolicy.ABANDON,
    });
  }

  hasSeen(requestId: string): boolean {
    return this.seen.includes(requestId);
  }

  markSeen(requestId: string): void {
    this.seen.push(requestId);
    if (this.seen.length > SEEN_REQUEST_IDS_KEPT) this.seen.splice(0, this.seen.length - SEEN_REQUEST_IDS_KEPT);
  }

  get seenRequestIds(): string[] {
    return [...this.seen];
  }

  get idle(): boolean {
    return this.pending.length === 0 && !this.projection.isLocked() && !this.current?.runningOperation;
  }
}
