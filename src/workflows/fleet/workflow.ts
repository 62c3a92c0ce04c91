import {
  allHandlersFinished, condition, continueAsNew, getExternalWorkflowHandle, patched, proxyActivities, setHandler, workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../../activities/index.js';
import {
  configureFleetUpdate, fleetStatusQuery, holdSlotsSignal, releaseSlotSignal, releaseSlotsSignal, requestSlotSignal, requestSlotsSignal, slotGrantedSignal,
  type FleetInput, type FleetStatus,
} from '../messages.js';

// Runs recorded before it sent each grant itself, one at a time, each awaited before the next: one
// slow delivery held up every grant behind it, and the fleet's pace was one grant per round trip.
const GRANTS_BY_ACTIVITY_PATCH = 'grants-by-activity';

const { grantMaintenanceSlots } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  heartbeatTimeout: '20s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * The fleet's maintenance coordinator (one per namespace): hands out at most `maxConcurrent`
 * maintenance slots, first come first served, none while paused. Instances ask with a signal and
 * are answered with one, so a slot survives any worker or server restart. Each worker sends its
 * instances' requests and releases in batches: a thousand windows opening at once are a handful
 * of signals, not a thousand queued on this one workflow's lock (BENCHMARKS.md).
 */
export async function maintenanceFleetWorkflow(input: FleetInput): Promise<void> {
  const status: FleetStatus = { running: [], waiting: [], ...input };
  let grantsInFlight = 0;

  const free = (requesters: string[]) => {
    status.running = status.running.filter((holder) => !requesters.includes(holder));
  };
  /** Every free slot at once, in one activity; requesters that are gone free theirs again. */
  const grantAll = async (requesters: string[]): Promise<void> => {
    status.running.push(...requesters);
    grantsInFlight++;
    try {
      free((await grantMaintenanceSlots({ fleetWorkflowId: workflowInfo().workflowId, requesters })).gone);
    } finally {
      grantsInFlight--;
    }
  };
  const grantOne = async (requester: string): Promise<void> => {
    status.running.push(requester);
    try {
      await getExternalWorkflowHandle(requester).signal(slotGrantedSignal, { fleetWorkflowId: workflowInfo().workflowId });
    } catch {
      free([requester]);
    }
  };

  const enqueue = (requesters: string[]) => {
    const known = new Set([...status.running, ...status.waiting]);
    for (const requester of requesters) {
      if (!known.has(requester)) status.waiting.push(requester);
      known.add(requester);
    }
  };
  const release = (requesters: string[]) => {
    free(requesters);
    status.waiting = status.waiting.filter((waiter) => !requesters.includes(waiter));
  };

  /**
   * A workflow reset by hand goes on with the maintenance run its ended run held a slot for, and
   * the keeper may have handed that slot back meanwhile: it counts again, past the cap if the slot
   * went to another run, so that nothing more is granted until the fleet is back under it.
   */
  const hold = (requesters: string[]) => {
    status.waiting = status.waiting.filter((waiter) => !requesters.includes(waiter));
    status.running.push(...requesters.filter((requester) => !status.running.includes(requester)));
  };

  setHandler(fleetStatusQuery, () => status);
  setHandler(holdSlotsSignal, ({ requesters }) => hold(requesters));
  setHandler(requestSlotsSignal, ({ requesters }) => enqueue(requesters));
  setHandler(releaseSlotsSignal, ({ requesters }) => release(requesters));
  setHandler(requestSlotSignal, ({ requester }) => enqueue([requester]));
  setHandler(releaseSlotSignal, ({ requester }) => release([requester]));
  setHandler(
    configureFleetUpdate,
    (change) => {
      if (change.maxConcurrent !== undefined) status.maxConcurrent = change.maxConcurrent;
      if (change.paused !== undefined) status.paused = change.paused;
      return status;
    },
    {
      validator: (change: { maxConcurrent?: number }) => {
        if (change.maxConcurrent !== undefined && (!Number.isInteger(change.maxConcurrent) || change.maxConcurrent < 1)) {
          throw new Error('maxConcurrent must be a whole number >= 1');
        }
      },
    },
  );

  const canGrant = () => !status.paused && status.waiting.length > 0 && status.running.length < status.maxConcurrent;
  for (;;) {
    await condition(() => canGrant() || workflowInfo().continueAsNewSuggested);
    if (!canGrant()) break;
    if (patched(GRANTS_BY_ACTIVITY_PATCH)) {
      const slots = Math.min(status.maxConcurrent - status.running.length, status.waiting.length);
      void grantAll(status.waiting.splice(0, slots));
    } else {
      while (canGrant()) await grantOne(status.waiting.shift()!);
    }
  }
  // A grant still on its way could come back as "requester gone": settle them before handing over.
  await condition(() => grantsInFlight === 0 && allHandlersFinished());
  await continueAsNew<typeof maintenanceFleetWorkflow>(status);
}
